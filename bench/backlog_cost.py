"""Cost per SMS against the backlog (issue 13): does a send cost more behind a long backlog?

In one process on moto, with the gateway's own DynamoDB adapters and the table as
template.yaml declares it: a lane holds a backlog of `bulk` messages; then messages are queued
through the intake as `normal` and the lane's dispatcher (its configured workers) sends them to
a carrier that takes everything at once, until they are all sent. Counted per message sent, for
the intake and the dispatch: DynamoDB requests by operation and the items they read (a Query's
ScannedCount, a GetItem's item). The same run with a small and a large backlog; their ratio is
1.00 when the cost does not grow with the backlog, and larger when some step reads it.

No time is reported: moto's Query lists a whole partition where DynamoDB seeks its key, so
moto's time grows with the backlog whatever the gateway does. What the gateway asks DynamoDB for
is what AWS bills (requests, and read units from the items read).
"""

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from cfnlint.decode import decode
from moto import mock_aws

from gateway.aws import clients
from gateway.aws.message_store import MessageRepository
from gateway.aws.queue_store import QueueStore
from gateway.aws.threads import run_traced
from gateway.core.dispatching import Dispatcher
from gateway.core.intake import Intake
from gateway.core.model import utc_now
from gateway.core.retry import RetryPolicy
from gateway.core.sending import Delivery, Prepared, Sender
from gateway.core.store import QueueEntry
from gateway.core.tracking import StatusTracker
from gateway.observability import logger, metrics
from infra.local.moto import adapt_moto
from infra.local.template.resources import create_table_request

TABLE = "messages"
LANE = "orange-sms:bench"
MEASURED = 50
WORKERS = 3
FULL_BACKLOGS = (1_000, 100_000)
QUICK_BACKLOGS = (100, 5_000)
TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "template.yaml")


def run(quick: bool = False) -> dict[str, Any]:
    small, large = QUICK_BACKLOGS if quick else FULL_BACKLOGS
    level, namespace = logger.log_level, metrics.namespace
    logger.setLevel("WARNING")  # a line per message sent is noise here
    # The gateway's metrics are flushed every 100, which needs a namespace (Lambda's is set
    # by the template); here they go to stdout and are dropped with the run.
    metrics.namespace = namespace or "bench"
    try:
        figures = {"small": _measure(small), "large": _measure(large)}
    finally:
        logger.setLevel(level)
        metrics.namespace = namespace
        metrics.clear_metrics()
    per_sms = {size: figures[size]["requests_per_sms"] for size in figures}
    items = {size: figures[size]["items_read_per_sms"] for size in figures}
    return {
        "measured_sms": MEASURED,
        "workers": WORKERS,
        **figures,
        "requests_ratio": round(per_sms["large"] / per_sms["small"], 2),
        "items_read_ratio": round(items["large"] / items["small"], 2),
        "goal": "the same cost per SMS whatever the backlog (ratio 1.00)",
    }


@dataclass
class _Calls:
    operations: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    counting: bool = False

    def after_call(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if not self.counting:
            return
        self.operations[model.name] += 1
        if "ScannedCount" in parsed:
            self.items_read += int(parsed["ScannedCount"])
        elif "Item" in parsed:
            self.items_read += 1


class _Carrier:
    """Takes every message at once: the count is of the gateway's own requests."""

    def __init__(self) -> None:
        self.sent = 0

    def prepare(self, request: Any) -> Prepared[str]:
        return Prepared(channel="sms", to=request.to, provider="bench", lane=LANE, route="")

    def send(self, prepared: Prepared[str], max_wait: float) -> str:
        self.sent += 1
        return f"ref-{self.sent}"


def _measure(backlog: int) -> dict[str, Any]:
    with _moto() as calls:
        repository, queue = MessageRepository(TABLE), QueueStore(TABLE)
        for n in range(backlog):  # bulk messages waiting in the lane (their entries)
            queue.push(QueueEntry(LANE, f"backlog-{n}", f"2#{utc_now()}#backlog-{n}"))
        carrier = _Carrier()
        sender = Sender(
            tracker=StatusTracker(repository), channels={"sms": carrier}, retry=RetryPolicy()
        )
        intake = Intake(store=repository, queue=queue)
        dispatcher = Dispatcher(
            store=repository,
            queue=queue,
            sender=sender,
            wakeup=_NoWakeups(),
            lease=lambda lane: _FreeLease(),
            workers=WORKERS,
            linger_seconds=0.0,
            runner=run_traced,
        )
        calls.counting = True
        for n in range(MEASURED):
            body = f'{{"id": "m{n}", "channel": "sms", "to": "+2250700000{n:03d}", "text": "x"}}'
            delivery = Delivery(body, f"sqs-{n}", utc_now())
            intake.receive(delivery, sender.admit(body, delivery.fallback_id))
        # Run until the measured messages are sent, not through the backlog behind them.
        dispatcher.run(LANE, lambda: 60.0 if carrier.sent < MEASURED else 0.0)
        calls.counting = False
        requests = sum(calls.operations.values())
        return {
            "backlog": backlog,
            "sent": carrier.sent,
            "requests_per_sms": round(requests / MEASURED, 2),
            "items_read_per_sms": round(calls.items_read / MEASURED, 2),
            "by_operation": {
                name: round(count / MEASURED, 2) for name, count in sorted(calls.operations.items())
            },
        }


class _FreeLease:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


class _NoWakeups:
    def wake(self, lanes: Any) -> None:
        pass

    def wake_at(self, lane: str, at: str) -> None:
        pass


@contextmanager
def _moto() -> Iterator[_Calls]:
    saved = dict(os.environ)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    clients.reset()
    adapt_moto()  # DynamoDB requests one at a time, as the local stack serves them
    calls = _Calls()
    try:
        with mock_aws():
            template, errors = decode(TEMPLATE)
            if template is None:
                raise RuntimeError(f"template.yaml: {errors}")
            properties = template["Resources"]["MessagesTable"]["Properties"]
            boto3.client("dynamodb").create_table(**create_table_request(TABLE, properties))
            clients.dynamodb().meta.events.register("after-call.dynamodb", calls.after_call)
            yield calls
    finally:
        clients.reset()
        os.environ.clear()
        os.environ.update(saved)
