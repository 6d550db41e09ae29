"""The local stack as the benchmarks and the reliability run drive it: started in a temporary
directory under a unique name, fed SMS through the send queue, watched through the Orange
simulator, the queues and the status API; for the reliability run also fed raw bodies,
watched through its pollers' and runtime's logs, and given kill points."""

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from types import TracebackType
from typing import Any, Self

from botocore.exceptions import ClientError

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.runtime import runtime as local_runtime
from infra.local.runtime.runtime import FunctionRuntime
from infra.local.stack import LocalStack, LocalStackOptions
from infra.local.triggers import sqs as sqs_triggers
from infra.simulators.orange import NetworkDelay, OrangeSimulator

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
# Mali through its own Orange account ("mali"), Côte d'Ivoire through "default".
MALI_ACCOUNT = {"OrangeCountryAccounts": "MLI=mali"}
FINAL_STATUSES = frozenset(
    {"delivered", "undelivered", "rejected", "failed", "unknown", "expired", "cancelled"}
)
POLL_SECONDS = 0.5
EXPIRER_POLL_SECONDS = 0.1  # "every N sends" within a send or so at 5-10 SMS/s
# Enough for any run here: the simulator refuses sends once a country's units run out.
CONTRACT_UNITS = 100_000

type View = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Route:
    """One Orange account and the country it sends to, with numbers of that country."""

    account: str  # the gateway's account name
    country: str  # ISO3, the simulator's contract
    prefix: str  # E.164 prefix; the message index fills the remaining digits
    digits: int

    def number(self, index: int) -> str:
        """The index-th number whose receipts are DeliveredToNetwork then DeliveredToTerminal:
        the simulator gives numbers ending 96-99 other outcomes, so those are skipped."""
        suffix = index + 4 * (index // 96)
        return f"{self.prefix}{suffix:0{self.digits}d}"


CIV = Route("default", "CIV", "+22507000", 5)
MLI = Route("mali", "MLI", "+223700", 5)


@contextmanager
def local_stack(
    label: str,
    *,
    overrides: Mapping[str, str] | None = None,
    visibility_timeout: int | None = None,
    schedule_speedup: float = LocalStackOptions.schedule_speedup,
    carrier_network: NetworkDelay | None = None,
) -> Iterator[LocalStack]:
    """A fresh local stack (free ports, its own state directory and stack name)."""
    with TemporaryDirectory(prefix=f"cgw-{label}-") as state_dir:
        options = LocalStackOptions(
            template_path=TEMPLATE,
            api_port=0,
            aws_port=0,
            state_dir=Path(state_dir),
            # A name of its own per stack of a run: its resources are named after it.
            stack_name=f"{label}-{uuid.uuid4().hex[:6]}",
            parameter_overrides=dict(overrides or {}),
            visibility_timeout=visibility_timeout,
            schedule_speedup=schedule_speedup,
            carrier_network=carrier_network,
            # No reader of the bus here: the events are published, nothing queues them.
            events_queue=False,
        )
        with LocalStack(options) as stack:
            orange = stack.simulator(OrangeSimulator)
            for route in (CIV, MLI):
                orange.set_contract(route.country, units=CONTRACT_UNITS)
            yield stack


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process of this machine has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime and stime are the 14th and 15th fields; the 3rd is the first after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_client(stack: LocalStack) -> GatewayClient:
    return GatewayClient(from_local_dict(stack.endpoints))


def sms_requests(tag: str, routes: Iterable[Route], per_route: int) -> list[dict[str, Any]]:
    """`per_route` SMS for each route, interleaved so every route has work from the start.
    Each text carries its id, so the simulator's (recipient, text) pairs identify a message."""
    requests = []
    for index in range(per_route):
        for route in routes:
            message_id = f"{tag}-{route.country.lower()}-{index}"
            requests.append(
                {
                    "id": message_id,
                    "channel": "sms",
                    "to": route.number(index),
                    "text": f"bench {message_id}",
                }
            )
    return requests


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll `check` until it holds; False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def queue_depth(stack: LocalStack, endpoint: str = "send_queue_url") -> int:
    """Messages on a queue (the send queue unless another endpoint is named): waiting, in
    flight (received, not deleted) and delayed."""
    attributes = (
        stack.clients.sqs()
        .get_queue_attributes(QueueUrl=stack.endpoints[endpoint], AttributeNames=["All"])
        .get("Attributes", {})
    )
    return sum(
        int(attributes.get(name, "0"))
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def settle(stack: LocalStack, timeout: float) -> bool:
    """Wait until the gateway has nothing left to do: the send queue is empty (so every send
    has happened, and the simulator schedules a send's receipts before answering it) and the
    simulator has pushed every receipt. False on timeout."""
    orange = stack.simulator(OrangeSimulator)
    return wait_until(lambda: queue_depth(stack) == 0 and orange.wait_for_receipts(0), timeout)


def final_views(
    gateway: GatewayClient, ids: Iterable[str], timeout: float
) -> dict[str, View | None]:
    """Each message's status view, read again until it is final or `timeout` passes."""
    views: dict[str, View | None] = {}
    pending = set(ids)

    def all_final() -> bool:
        for message_id in sorted(pending):
            view = views[message_id] = gateway.status(message_id)
            if view is not None and view["status"] in FINAL_STATUSES:
                pending.discard(message_id)
        return not pending

    wait_until(all_final, timeout)
    return views


class BackgroundLoop:
    """A thread of the run's own, started on entering and stopped on leaving: `_run` waits on
    `_stopping` between its rounds; `_finish` runs once it has stopped."""

    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join()
        self._finish()

    def _run(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        return


class TokenExpirer(BackgroundLoop):
    """Expires every token the simulator issued each time another `every` sends were
    accepted, as a token's lifetime running out mid-run would; at most `limit` times."""

    def __init__(self, simulator: OrangeSimulator, every: int, limit: int | None = None) -> None:
        super().__init__("token-expirer")
        self._simulator = simulator
        self._every = every
        self._limit = limit
        self.expiries = 0

    def _run(self) -> None:
        start = self._simulator.stats()["sends"]
        while self._limit is None or self.expiries < self._limit:
            if self._stopping.wait(EXPIRER_POLL_SECONDS):
                return
            if self._simulator.stats()["sends"] - start >= self._every * (self.expiries + 1):
                self._simulator.expire_tokens()
                self.expiries += 1


def queue_bodies(stack: LocalStack, bodies: Sequence[str]) -> list[str]:
    """Put raw bodies on the send queue, ten per SendMessageBatch and in order, so that what
    is put together is received together; the SQS message id of each."""
    sqs = stack.clients.sqs()
    message_ids: list[str] = []
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        answer = sqs.send_message_batch(
            QueueUrl=stack.endpoints["send_queue_url"],
            Entries=[{"Id": str(n), "MessageBody": body} for n, body in enumerate(chunk)],
        )
        if answer.get("Failed"):
            raise RuntimeError(f"the send queue refused bodies: {answer['Failed']}")
        by_entry = {int(entry["Id"]): entry["MessageId"] for entry in answer["Successful"]}
        message_ids += [by_entry[n] for n in range(len(chunk))]
    return message_ids


def _runtime(stack: LocalStack) -> FunctionRuntime:
    # LocalStack has no kill-point methods of its own (infra/local/stack.py): reach its runtime.
    return stack._require_runtime()


def arm_kill_point(stack: LocalStack, function_id: str, target: str | None, times: int) -> None:
    """The function's next invocations are killed at `target` (see
    `FunctionRuntime.arm_kill_point`), `times` times in all; None disarms."""
    _runtime(stack).arm_kill_point(function_id, target, times)


def killed_at_kill_point(stack: LocalStack, function_id: str) -> list[Any]:
    """The events of the function's invocations its kill point ended, oldest first."""
    return _runtime(stack).killed_at_kill_point(function_id)


def release_lease(stack: LocalStack, name: str) -> bool:
    """Delete the lease lock `name` (`gateway.aws.locks.LeaseLock`) as its holder would have,
    if the holder read now still holds it: for a holder known dead, its lease run out at once.
    True when it was released."""
    dynamodb = stack.clients.dynamodb()
    table = stack.endpoints["table_name"]
    key = {"pk": {"S": f"LOCK#{name}"}, "sk": {"S": "LOCK"}}
    owner = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
    if "owner" not in owner:
        return False
    try:
        dynamodb.delete_item(
            TableName=table,
            Key=key,
            ConditionExpression="#owner = :dead",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":dead": owner["owner"]},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def message_items(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Every message item of the stack's table by message id (a scan: for checks after a run)."""
    dynamodb = stack.clients.dynamodb()
    items: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {
        "TableName": stack.endpoints["table_name"],
        "FilterExpression": "sk = :message",
        "ExpressionAttributeValues": {":message": {"S": "MSG"}},
    }
    while True:
        page = dynamodb.scan(**request)
        for item in page.get("Items", []):
            items[item["pk"]["S"].removeprefix("MSG#")] = item
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class Invocations:
    """One function's invocations as the local stack's SQS pollers and runtime log them."""

    batches: int = 0  # SQS batches it was invoked with
    records: int = 0
    failed_records: int = 0  # left on the queue for another delivery (partial failures)
    failed_batches: int = 0  # batches with any record left
    failed_invocations: int = 0  # invocations that failed whole (error, killed, timed out)


class InvocationWatch(logging.Handler):
    """Counts a function's SQS batches and failed invocations from the local stack's own log
    records (its pollers and runtime run in this process) while it is entered."""

    _LOGGERS = (sqs_triggers.logger, local_runtime.logger)

    def __init__(self, function_id: str) -> None:
        super().__init__(logging.INFO)
        self.function_id = function_id
        self.counts = Invocations()
        self._levels: list[int] = []

    def __enter__(self) -> Self:
        for logger in self._LOGGERS:
            self._levels.append(logger.level)
            if not logger.isEnabledFor(logging.INFO):
                logger.setLevel(logging.INFO)
            logger.addHandler(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for logger, level in zip(self._LOGGERS, self._levels, strict=True):
            logger.removeHandler(self)
            logger.setLevel(level)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if not args or args[0] != self.function_id:
            return
        # `handle` holds the handler's lock around `emit`: the pollers' threads count in turn.
        message = str(record.msg)
        if message.startswith("sqs batch processed") and len(args) == 4:
            failed = int(str(args[3]))
            self.counts.batches += 1
            self.counts.records += int(str(args[2]))
            self.counts.failed_records += failed
            if failed:
                self.counts.failed_batches += 1
        elif message.startswith("invocation failed"):
            self.counts.failed_invocations += 1


def logged(stack: LocalStack, message: str, function_id: str | None = None) -> list[dict[str, Any]]:
    """The JSON log entries (powertools') with this message that the stack's functions wrote,
    or one function only."""
    pattern = f"{function_id}.log" if function_id else "*.log"
    entries = []
    for log in sorted(stack.logs_dir.glob(pattern)):
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{") or message not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("message") == message:
                entries.append(entry)
    return entries
