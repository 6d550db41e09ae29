"""Schedule events: each scheduled function runs once at start-up, then every interval.

Intervals come from `rate(...)` expressions divided by a speed-up factor, so a local stack
shows in seconds what takes minutes on AWS. `cron(...)` expressions are not interpreted:
they run every CRON_INTERVAL_SECONDS (divided by the same factor).
"""

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.local.aws import ACCOUNT_ID
from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import FunctionSpec, ScheduleEvent
from infra.local.template.intrinsics import TemplateError

logger = logging.getLogger(__name__)

type Invoke = Callable[[str, Any], Invocation]

CRON_INTERVAL_SECONDS = 300.0
_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def nominal_interval(expression: str) -> float:
    """Seconds between runs on AWS for a rate(), a fixed stand-in for a cron()."""
    if expression.startswith("cron("):
        return CRON_INTERVAL_SECONDS
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise TemplateError(f"unsupported schedule expression {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass(frozen=True)
class Schedule:
    function_id: str
    event: ScheduleEvent
    rule_arn: str


def scheduled_event(schedule: Schedule, region: str) -> Any:
    """The event EventBridge sends a scheduled target, or the schedule's own Input."""
    if schedule.event.input is not None:
        return json.loads(schedule.event.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [schedule.rule_arn],
        "detail": {},
    }


def build_schedules(
    functions: Iterable[FunctionSpec], region: str, stack_name: str
) -> list[Schedule]:
    return [
        Schedule(
            function.logical_id,
            event,
            # SAM names the rule after the function and the event.
            f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/"
            f"{stack_name}-{function.logical_id}{event.name}"[:64],
        )
        for function in functions
        for event in function.events
        if isinstance(event, ScheduleEvent)
    ]


class Scheduler:
    """One timer thread per schedule, and `run_now` for tests."""

    def __init__(
        self, schedules: Iterable[Schedule], invoke: Invoke, region: str, speedup: float
    ) -> None:
        self._schedules = list(schedules)
        self._invoke = invoke
        self._region = region
        self._speedup = speedup
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        for schedule in self._schedules:
            nominal_interval(schedule.event.expression)  # fail at start-up, not in a thread

    def start(self) -> None:
        for schedule in self._schedules:
            thread = threading.Thread(
                target=self._run,
                args=(schedule,),
                name=f"schedule-{schedule.function_id}-{schedule.event.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def run_now(self, function_id: str) -> list[Invocation]:
        """Fire every schedule of the function at once; their invocations, in template order."""
        schedules = [s for s in self._schedules if s.function_id == function_id]
        if not schedules:
            raise KeyError(f"function {function_id!r} has no schedule")
        return [self._fire(schedule) for schedule in schedules]

    def _fire(self, schedule: Schedule) -> Invocation:
        invocation = self._invoke(schedule.function_id, scheduled_event(schedule, self._region))
        logger.info(
            "schedule fired: function=%s event=%s ok=%s",
            schedule.function_id,
            schedule.event.name,
            invocation.error is None,
        )
        return invocation

    def _run(self, schedule: Schedule) -> None:
        interval = nominal_interval(schedule.event.expression) / self._speedup
        self._fire(schedule)
        while not self._stopping.wait(interval):
            self._fire(schedule)

    def signal_stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)
