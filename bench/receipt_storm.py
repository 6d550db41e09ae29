"""A receipt storm (issue 6, point 2): Orange delivery receipts for many messages, duplicated
and shuffled, POSTed concurrently to the local stack's `POST /callbacks/orange/dr/{token}`.

The messages are seeded as the sender leaves them, through the gateway's own repository and
tracker (in this process, against the stack's moto): `accepted`, then `submitted` with an
Orange reference. Every tenth message's send is recorded only once five of its receipts have
been answered, during the storm, so those arrive before the send is recorded and must be kept
and applied when it is, while its other receipts race the recording. Each message gets a draw
of the seeds' five deliveryStatus values (from a few of them: exact duplicates), and all
receipts go out in one shuffled order from a thread pool. The route puts each receipt on
ReceiptQueue (API Gateway's SQS integration) and answers SQS's 200; the receipts function
applies them from there. Each receipt is POSTed once (Orange does not promise to resend: the
plan's `attempts` can allow more), so any answer but 2xx is a receipt lost, a violation. The
statuses are read once the queue is empty; a receipt left on it or on its dead-letter queue
is a violation.

Then, through the status API, every message must be in the status DESIGN.md's ranks give the
receipts it got (the expectation uses this module's own table, not the gateway's code), with
a providerStatus of that rank, and a history holding `accepted`, `submitted` and each
distinct receipt exactly once; no receipt may be left waiting for its send. `violations`
lists what did not hold.

`make reliability` runs 1,000 messages and 10,000 receipts and exits 1 on a violation;
tests/e2e/test_receipt_storm.py runs 100 and 1,000 through the same `run_storm`.
"""

import json
import logging
import queue
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import requests

from bench.local import CIV, View, gateway_client, local_stack, queue_depth
from gateway.aws.message_store import EARLY_PREFIX, MessageRepository
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from gateway.observability import logger as gateway_logger
from gateway.observability import metrics as gateway_metrics
from gateway.orange.receipts import PROVIDER
from infra.local.stack import LocalStack
from infra.simulators._orange_wire import delivery_notification

# DESIGN.md's table and ranks, kept here rather than taken from the gateway's code, so that
# the expectation does not repeat a mistake of the code under test.
NORMALISED = {
    "DeliveredToNetwork": "sent",
    "MessageWaiting": "sent",
    "DeliveryUncertain": "unknown",
    "DeliveryImpossible": "undelivered",
    "DeliveredToTerminal": "delivered",
}
RANK = {"sent": 2, "unknown": 3, "undelivered": 4, "delivered": 5}
RECEIPT_SOURCE = "orange-dr"
POST_TIMEOUT = (5.0, 60.0)  # the API front queues requests while the function's workers are busy
# The receipt route answers what SQS answers: 200 once stored. A 429 (the route's throttle)
# or a 5xx is tried again, as Orange may; anything else is a violation.
RETRYABLE = ("429", "500", "503")
DRAIN_SECONDS = 300.0
RETRY_PAUSE_SECONDS = 0.5
STATUS_READERS = 8
VIOLATIONS_LISTED = 50

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StormPlan:
    messages: int = 1000
    receipts_per_message: int = 10
    early_every: int = 10  # every n-th message's send is recorded during the storm,
    early_receipts: int = 5  # once this many of its receipts were answered
    workers: int = 24  # concurrent POSTs
    # Tries per receipt, while not answered 2xx: one, as Orange does not promise to resend.
    attempts: int = 1
    seed: int = 6


@dataclass(frozen=True)
class PlannedMessage:
    id: str
    ref: str
    to: str
    early: bool
    receipts: tuple[str, ...]  # deliveryStatus values, with duplicates

    def expected_status(self) -> str:
        return max((NORMALISED[s] for s in self.receipts), key=RANK.__getitem__)

    def expected_provider_statuses(self) -> set[str]:
        """Any receipt of the final rank may be the one that moved the message there."""
        return {s for s in self.receipts if NORMALISED[s] == self.expected_status()}


@dataclass(frozen=True)
class Receipt:
    message: PlannedMessage
    status: str

    def body(self) -> bytes:
        notification = delivery_notification(self.message.ref, self.message.to, self.status)
        return json.dumps(notification).encode()


@dataclass
class StormReport:
    plan: StormPlan
    seed_seconds: float
    storm_seconds: float
    receipts: int
    answers: Counter[str]  # HTTP status (or "no answer") of every try
    latencies: list[float]  # seconds, of every try
    early_messages: int
    answered_before_send: int  # receipts answered before their message's send was recorded
    statuses: Counter[str]
    expected: Counter[str]
    violations: list[str]

    def figures(self) -> dict[str, Any]:
        latencies = sorted(self.latencies)
        return {
            "plan": asdict(self.plan),
            "receipts": self.receipts,
            "seed_seconds": round(self.seed_seconds, 1),
            "storm_seconds": round(self.storm_seconds, 1),
            "receipts_per_second": round(self.receipts / self.storm_seconds, 1),
            "latency_ms": {
                "p50": _ms(statistics.median(latencies)),
                "p95": _ms(latencies[int(0.95 * (len(latencies) - 1))]),
                "p99": _ms(latencies[int(0.99 * (len(latencies) - 1))]),
                "max": _ms(latencies[-1]),
            },
            "answers": dict(sorted(self.answers.items())),
            "retries": self.answers.total() - self.receipts,
            "early_messages": self.early_messages,
            "answered_before_send": self.answered_before_send,
            "statuses": dict(sorted(self.statuses.items())),
            "expected_statuses": dict(sorted(self.expected.items())),
            "violations": _listed(self.violations),
        }


def run(quick: bool = False) -> dict[str, Any]:
    return run_storm(StormPlan(messages=100 if quick else 1000)).figures()


def run_storm(plan: StormPlan) -> StormReport:
    messages, receipts = plan_storm(plan)
    with local_stack("storm") as stack, _quiet_gateway_logs():
        sender = InProcessSender(stack)
        started = time.monotonic()
        for message in messages:
            sender.accept(message)
            if not message.early:
                sender.record_send(message)
        seeded = time.monotonic()
        logger.info("storm: %d receipts for %d messages", len(receipts), len(messages))
        storm = Storm(stack.endpoints["orange_dr_url"], plan, sender)
        early = [m for m in messages if m.early]
        storm.run(receipts, early)
        stormed = time.monotonic()
        left_on_queue = _drained(stack)
        dead = queue_depth(stack, "receipt_dlq_url")
        views = _views(stack, [m.id for m in messages])
        left = _kept_receipts(stack)
    return StormReport(
        plan=plan,
        seed_seconds=seeded - started,
        storm_seconds=stormed - seeded,
        receipts=len(receipts),
        answers=storm.answers,
        latencies=storm.latencies,
        early_messages=len(early),
        answered_before_send=storm.answered_before_send,
        statuses=Counter(str(v["status"]) if v else "missing" for v in views.values()),
        expected=Counter(m.expected_status() for m in messages),
        violations=[
            *storm.violations(),
            *(v for m in messages for v in message_violations(m, views.get(m.id))),
            *([f"{left} receipts still waiting for their send"] if left else []),
            *([f"{left_on_queue} receipts still on the receipt queue"] if left_on_queue else []),
            *([f"{dead} receipts on the receipt dead-letter queue"] if dead else []),
        ],
    )


def plan_storm(plan: StormPlan) -> tuple[list[PlannedMessage], list[Receipt]]:
    """The messages, each with `receipts_per_message` draws from a few of the statuses (so
    that every final status occurs and every message gets exact duplicates), and all their
    receipts in one shuffled order."""
    rng = random.Random(plan.seed)  # noqa: S311 - a reproducible storm, not a secret
    statuses = sorted(NORMALISED)
    messages = []
    for index in range(plan.messages):
        offered = rng.sample(statuses, rng.randint(1, len(statuses)))
        messages.append(
            PlannedMessage(
                id=f"storm-{index}",
                ref=f"storm-ref-{index:05d}-{rng.getrandbits(32):08x}",
                to=CIV.number(index),
                early=index % plan.early_every == 0,
                receipts=tuple(rng.choice(offered) for _ in range(plan.receipts_per_message)),
            )
        )
    receipts = [Receipt(m, status) for m in messages for status in m.receipts]
    rng.shuffle(receipts)
    return messages, receipts


def message_violations(message: PlannedMessage, view: View | None) -> list[str]:
    """What differs from the rules in one message's status view."""
    if view is None:
        return [f"{message.id}: unknown to the status API"]
    violations = []
    expected = message.expected_status()
    if view["status"] != expected:
        violations.append(f"{message.id}: {view['status']}, expected {expected}")
    if view.get("providerStatus") not in message.expected_provider_statuses():
        violations.append(
            f"{message.id}: providerStatus {view.get('providerStatus')}, expected one of "
            f"{sorted(message.expected_provider_statuses())}"
        )
    entries = Counter(
        (h["source"], h["status"], h.get("providerStatus"), h.get("reason"))
        for h in view["history"]
    )
    if duplicated := sorted(str(e) for e, n in entries.items() if n > 1):
        violations.append(f"{message.id}: history entries more than once: {duplicated}")
    receipts = sorted(str(e[2]) for e in entries if e[0] == RECEIPT_SOURCE)
    if receipts != sorted(set(message.receipts)):
        violations.append(
            f"{message.id}: receipts in the history {receipts}, "
            f"expected {sorted(set(message.receipts))}"
        )
    gateway = sorted(str(e[1]) for e in entries if e[0] != RECEIPT_SOURCE)
    if gateway != ["accepted", "submitted"]:
        violations.append(f"{message.id}: the gateway's history entries are {gateway}")
    return violations


class InProcessSender:
    """What the sender would have recorded, through the gateway's own tracker."""

    def __init__(self, stack: LocalStack) -> None:
        repository = MessageRepository(stack.endpoints["table_name"], stack.clients.dynamodb())
        self._repository = repository
        self._tracker = StatusTracker(repository)

    def accept(self, message: PlannedMessage) -> None:
        update = StatusUpdate(Status.ACCEPTED, utc_now(), "gateway")
        self._repository.create(
            Message.new(
                id=message.id,
                channel="sms",
                to=message.to,
                update=update,
                provider=PROVIDER,
                account=CIV.account,
                country=CIV.country,
            )
        )

    def record_send(self, message: PlannedMessage) -> None:
        update = StatusUpdate(Status.SUBMITTED, utc_now(), "gateway")
        sent = self._repository.get(message.id)
        if sent is None:
            raise RuntimeError(f"{message.id} was not seeded")
        self._tracker.record_send(sent, update, provider=PROVIDER, ref=message.ref)
        # A Lambda invocation publishes its metrics when it ends; nothing ends here, and
        # powertools publishes by itself (to stdout) once one metric has 100 values.
        gateway_metrics.clear_metrics()


class Storm:
    """The receipts POSTed from a thread pool, in their order; meanwhile a recorder thread
    records each early message's send once `early_receipts` of its receipts were answered."""

    def __init__(self, url: str, plan: StormPlan, sender: InProcessSender) -> None:
        self.url = url
        self.plan = plan
        self.sender = sender
        self.answers: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.answered_before_send = 0
        self.failed: list[Receipt] = []  # never answered 2xx
        self._lock = threading.Lock()
        self._local = threading.local()
        self._answered: queue.Queue[PlannedMessage] = queue.Queue()
        self._early_answers: Counter[str] = Counter()  # by early message, before its send
        self._announced: set[str] = set()  # early messages handed to the recorder
        self._sending: set[str] = set()  # early messages whose send is being recorded

    def run(self, receipts: list[Receipt], early: list[PlannedMessage]) -> None:
        with (
            ThreadPoolExecutor(1, thread_name_prefix="recorder") as recorder,
            ThreadPoolExecutor(self.plan.workers, thread_name_prefix="storm") as posters,
        ):
            recording = recorder.submit(self._record_sends, len(early))
            list(posters.map(self._post, receipts))
            # A message with fewer receipts answered still gets its send recorded.
            for message in early:
                self._announce(message)
            recording.result()

    def violations(self) -> list[str]:
        refused = {
            k: n for k, n in self.answers.items() if not k.startswith("2") and k not in RETRYABLE
        }
        return [f"{n} tries answered {answer}" for answer, n in sorted(refused.items())] + [
            f"{r.message.id}: a {r.status} receipt never answered 2xx" for r in self.failed
        ]

    def _post(self, receipt: Receipt) -> None:
        session = self._session()
        message = receipt.message
        for attempt in range(self.plan.attempts):
            if attempt:
                time.sleep(RETRY_PAUSE_SECONDS)
            started = time.monotonic()
            try:
                response = session.post(
                    self.url,
                    data=receipt.body(),
                    headers={"Content-Type": "application/json"},
                    timeout=POST_TIMEOUT,
                )
                answer = str(response.status_code)
            except requests.RequestException as exc:
                answer = f"no answer ({type(exc).__name__})"
            with self._lock:
                self.answers[answer] += 1
                self.latencies.append(time.monotonic() - started)
            if answer.startswith("2"):
                if message.early:
                    self._answered_early(message)
                return
        with self._lock:
            self.failed.append(receipt)

    def _answered_early(self, message: PlannedMessage) -> None:
        with self._lock:
            if message.id in self._sending:
                return
            self.answered_before_send += 1
            self._early_answers[message.id] += 1
            if self._early_answers[message.id] < self.plan.early_receipts:
                return
        self._announce(message)

    def _announce(self, message: PlannedMessage) -> None:
        with self._lock:
            if message.id in self._announced:
                return
            self._announced.add(message.id)
        self._answered.put(message)

    def _record_sends(self, count: int) -> None:
        for _ in range(count):
            message = self._answered.get()
            with self._lock:
                self._sending.add(message.id)
            self.sender.record_send(message)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def _views(stack: LocalStack, ids: Iterable[str]) -> dict[str, View | None]:
    local = threading.local()

    def read(message_id: str) -> tuple[str, View | None]:
        if not hasattr(local, "client"):
            local.client = gateway_client(stack)
        return message_id, local.client.status(message_id)

    with ThreadPoolExecutor(STATUS_READERS, thread_name_prefix="status") as pool:
        return dict(pool.map(read, ids))


def _drained(stack: LocalStack) -> int:
    """Wait for ReceiptQueue to be empty (API Gateway stores receipts there; the receipts
    function applies them): what is still on it after DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while (left := queue_depth(stack, "receipt_queue_url")) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def _kept_receipts(stack: LocalStack) -> int:
    """Receipts still waiting for a send to be recorded (all of them should have been)."""
    paginator = stack.clients.dynamodb().get_paginator("scan")
    pages = paginator.paginate(
        TableName=stack.endpoints["table_name"],
        FilterExpression="begins_with(sk, :early)",
        ExpressionAttributeValues={":early": {"S": EARLY_PREFIX}},
        Select="COUNT",
    )
    return sum(page["Count"] for page in pages)


@contextmanager
def _quiet_gateway_logs() -> Iterator[None]:
    """The gateway's logger, used here by the tracker, logs each early receipt it applies:
    keep the run's output to warnings."""
    level = gateway_logger.log_level
    gateway_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        gateway_logger.setLevel(level)


def _listed(violations: list[str]) -> list[str]:
    if len(violations) <= VIOLATIONS_LISTED:
        return violations
    more = len(violations) - VIOLATIONS_LISTED
    return [*violations[:VIOLATIONS_LISTED], f"... and {more} more"]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
