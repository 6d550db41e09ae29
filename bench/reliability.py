"""The gateway under injected faults (issue 7, point 8, and issue 14's proof): SMS through the
local stack while the Orange simulator (fault RNG seeded) answers some sends with 503s (nothing
sent: retried), 500s, 502s and 504s after the send and answers held past the gateway's read
timeout (each may follow a send: `unknown`, never resent), resets and 403 code 53 bursts, and
pushes some sends' receipts before it answers them ("early receipts"); every token expires
every few hundred sends, and SQS redelivers messages still being processed (a visibility
timeout shorter than a slow batch). On top of that:

- every 10th request carries `"id": null` (an explicit null is no id: its message is
  `sqs-{SQS message id}`, as for a request without one);
- after every 10th request a malformed body is queued in the same SendMessageBatch, so that
  the sender gets it in a batch with good ones: JSON nested 3,000 deep, an object holding a
  5,000-digit number, text that is not JSON, JSON that is not an object, or an object with
  fields of the wrong type (the only one naming an id the gateway can read);
- an Orange outage: from `outage_after_seconds` in, for `outage_seconds` (10 minutes in the
  full run, 25 s in the reduced one), every call to Orange, OAuth included, is answered 503
  code 5, Orange's "Service temporarily unavailable";
- dispatcher invocations killed between recording a send and applying the receipts that beat
  it (the local runtime's kill point: `MessageRepository.early_updates` returning something,
  which only a send whose receipts came early does), the first `kills` to get there: the
  receipts stay kept until the sweep applies them; each kill also takes the invocation's other
  workers' messages with it (claimed, maybe sent, never recorded: `unknown`, "the sender died
  mid-send"), and holds the lane's lease until it runs out (150 s) or, in the reduced run, is
  released at once (`release_killed_leases`).

The requests carry every priority in turn; every 10th has a validity of a few seconds (many of
those end `expired`), and every 10th other belongs to a campaign that is cancelled a few
seconds into the run (those not yet sent end `cancelled`).

The run ends when every message is final, then checks (`violations` lists what did not hold):

- every message final (`unknown` included), every `unknown`, `failed`, `expired` and
  `cancelled` one with a reason;
- every request ended as exactly one message (a scan of the table, by its text), under its id
  or, for `"id": null`, under `sqs-{SQS message id}`;
- no SMS sent twice (the simulator's counter and its send records); a `delivered` message was
  sent, an `expired` or `cancelled` one never was;
- every malformed body ended `failed` ("invalid request: ...") under the id it names or,
  naming none the gateway can read, under `sqs-{SQS message id}`; none went to the dead-letter
  queue; no sender batch left a record for another delivery and no sender invocation failed,
  so no malformed body failed or redelivered its neighbours;
- the outage: no message ended `failed` but the malformed ones, none `rejected`, none
  `expired` but those with a validity, and all settled after it;
- every send answered 502, 504 or held past the read timeout was sent once and its message
  ended `unknown` ("outcome of send unknown: ...");
- every send whose receipts came early was sent once and its message ended `delivered`, those
  of the killed invocations included, unless another worker's kill caught it mid-send;
- no more messages ended "the sender died mid-send" than the kills' other workers could hold
  (none without a kill), and no more other `unknown` ones than answers could hide a send (a 503,
  an outage or a burst never does);
- nothing is left in the send queue, and every request on the dead-letter queue belongs to a
  message that ended `failed` with a reason.

`make reliability` (`python -m bench --only reliability`) runs 1,000 SMS and exits 1 on a
violation; tests/e2e/test_reliability.py runs `ReliabilityPlan.reduced()` (100 SMS) through
the same `run_reliability`.
"""

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bench.local import (
    CIV,
    FINAL_STATUSES,
    MALI_ACCOUNT,
    MLI,
    BackgroundLoop,
    Invocations,
    InvocationWatch,
    Route,
    TokenExpirer,
    View,
    arm_kill_point,
    final_views,
    gateway_client,
    killed_at_kill_point,
    local_stack,
    logged,
    message_items,
    queue_bodies,
    queue_depth,
    release_lease,
    settle,
    sms_requests,
)
from cgw.cancel import cancel_campaign
from cgw.endpoints import from_local_dict
from gateway.aws.dispatch_queue import dispatch_lease_name
from gateway.aws.message_store import MessageRepository
from gateway.carrier_http import READ_TIMEOUT
from gateway.core.sending import OUTCOME_UNKNOWN
from gateway.core.tracking import DIED_MID_SEND
from infra.local.stack import LocalStack
from infra.simulators.orange import FaultPlan, OrangeSimulator, SendRecord, Stats

DEFAULT_FAULTS = FaultPlan(
    http_500=0.03,
    http_503=0.05,
    http_504=0.02,
    http_502=0.02,
    reset=0.03,
    timeout=0.02,
    rate_burst=0.05,
    early_receipts=0.03,
    # Just past the gateway's read timeout: it gives up while the SMS is already sent.
    timeout_seconds=READ_TIMEOUT + 1,
    # The receipts acknowledged, then a second before the answer: time for the gateway to
    # have kept them, however they reach its store.
    early_receipts_lead_seconds=1.0,
)
# Longer than a usual batch (ten records at a few per second), shorter than one that also
# meets a held answer (READ_TIMEOUT more): SQS then redelivers requests whose first delivery
# is still being worked on.
VISIBILITY_TIMEOUT = 15
STATUS_SECONDS = 120.0
NEEDS_REASON = frozenset({"unknown", "failed", "expired", "cancelled"})
NEVER_SENT = frozenset({"expired", "cancelled"})
# The faults whose answer leaves the gateway unable to tell whether the SMS went out.
MAY_HIDE_A_SEND = ("http_500", "http_502", "http_504", "timeout", "reset")
# The faults answered once the send was done, in a way that cannot say so: never resent.
ANSWERED_AFTER_THE_SEND = frozenset({"http_502", "http_504", "timeout"})
EARLY_RECEIPTS = "early_receipts"
OUTAGE = "outage"
PRIORITIES = ("high", "normal", "bulk")
SHORT_VALIDITY_SECONDS = 3
CANCELLED_CAMPAIGN = "reliability-cancelled"
CANCEL_AFTER_SECONDS = 4.0
OUTAGE_AFTER_SECONDS = 12.0  # once both accounts' lanes are sending, long before they are done
NULL_ID_SLOT = 5  # the request of each ten that carries "id": null
MALFORMED_EVERY = 10  # one malformed body after every 10th request
MALFORMED_KINDS = ("deeply_nested", "huge_number", "not_json", "not_object", "invalid_fields")
INVALID_REQUEST = "invalid request: "
SENDER = "SenderFunction"
DISPATCHER = "DispatcherFunction"
# Returns the receipts kept for a send just recorded (in a dispatcher, nothing else calls it):
# killed there, the send is recorded and the receipts that beat it are not applied.
KILL_POINT = f"{MessageRepository.__module__}:{MessageRepository.early_updates.__qualname__}"
DEFAULT_WORKERS = 3  # SENDER_WORKERS_PER_ACCOUNT's default
KILL_WATCH_SECONDS = 0.2

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReliabilityPlan:
    messages: int = 1000  # split evenly between the two accounts
    seed: int = 7  # the simulator's fault RNG
    faults: FaultPlan = DEFAULT_FAULTS
    visibility_timeout: int = VISIBILITY_TIMEOUT
    outage_seconds: float = 600.0
    outage_after_seconds: float = OUTAGE_AFTER_SECONDS  # from the first request queued
    kills: int = 4  # dispatcher invocations killed at the kill point, at most
    # Release a killed dispatcher's lane lease at once (its holder is dead) rather than let
    # it run out (150 s): a shorter run, the same states.
    release_killed_leases: bool = False
    # How long messages may take to settle after the outage (the run goes on as soon as they
    # have): generous. Through a 10-minute outage a request's backoff doubles to 640 s (10,
    # 20, 40 ... s, +-20 %): one tried just before the outage ends comes back up to 13
    # minutes after it, and, answered a 503 then (5 %), 15 minutes later still; a killed
    # dispatcher's lane waits out its lease (150 s).
    settle_seconds: float = 3600.0

    @classmethod
    def reduced(cls, **changes: Any) -> "ReliabilityPlan":
        """tests/e2e/test_reliability.py's and `--quick`'s run: 100 SMS, 25 s of outage, two
        kills whose leases are released at once, and a shorter wait, so that a stuck message
        fails within the test's timeout. The receipts a killed dispatcher left are applied by
        the sweep after 2 minutes: the run takes about 3."""
        plan = cls(
            messages=100,
            outage_seconds=25.0,
            kills=2,
            release_killed_leases=True,
            settle_seconds=180.0,
        )
        return replace(plan, **changes)

    def token_expiry_interval(self) -> int:
        """Sends between two token expiries: five expiries over the run (every 200 of 1,000)."""
        return max(1, self.messages // 5)


@dataclass
class ReliabilityReport:
    plan: ReliabilityPlan
    messages: int  # SMS requests (the malformed bodies are `malformed`)
    elapsed_seconds: float
    statuses: Counter[str]
    reasons: Counter[str]  # "status: reason" of unknown, failed, expired and cancelled messages
    simulator: Stats
    faults_injected: Counter[str]  # `outage`: the calls refused during the outage
    token_expiries: int
    dead_letters: Counter[str]  # statuses of the messages whose requests are on the DLQ
    violations: list[str]
    null_ids: int = 0  # requests with "id": null
    malformed: Counter[str] = field(default_factory=Counter)  # malformed bodies by kind
    # Sends the simulator answered after doing them: 502, 504, held; early receipts.
    after_the_send: Counter[str] = field(default_factory=Counter)
    outage_settled_seconds: float | None = None  # from the outage's end to every message final
    killed_lanes: list[str] = field(default_factory=list)  # each kill's lane
    died_mid_send: int = 0  # messages ended "the sender died mid-send"
    # Receipts kept as early, applied as their send was recorded, applied by the sweep (left
    # by a killed dispatcher), from the functions' logs.
    kept_receipts: dict[str, int] = field(default_factory=dict)
    sender: Invocations = field(default_factory=Invocations)

    def figures(self) -> dict[str, Any]:
        return {
            "plan": {
                "seed": self.plan.seed,
                "faults": asdict(self.plan.faults),
                "token_expiry_every": self.plan.token_expiry_interval(),
                "visibility_timeout": self.plan.visibility_timeout,
                "outage_seconds": self.plan.outage_seconds,
                "outage_after_seconds": self.plan.outage_after_seconds,
                "kills": self.plan.kills,
                "kill_point": KILL_POINT,
                "release_killed_leases": self.plan.release_killed_leases,
            },
            "messages": self.messages,
            "elapsed_seconds": round(self.elapsed_seconds, 1),
            "statuses": dict(sorted(self.statuses.items())),
            "reasons": dict(self.reasons.most_common()),
            "sends": self.simulator["sends"],
            "duplicate_sends": self.simulator["duplicate_sends"],
            "token_requests": self.simulator["token_requests"],
            "token_expiries": self.token_expiries,
            "rejected_401": self.simulator["rejected_401"],
            "rejected_53": self.simulator["rejected_53"],
            "faults_injected": dict(sorted(self.faults_injected.items())),
            "dead_letters": dict(self.dead_letters),
            "null_ids": self.null_ids,
            "malformed": dict(sorted(self.malformed.items())),
            "answered_after_the_send": dict(sorted(self.after_the_send.items())),
            "outage": {
                "seconds": self.plan.outage_seconds,
                "calls_refused": self.faults_injected[OUTAGE],
                "settled_seconds_after": None
                if self.outage_settled_seconds is None
                else round(self.outage_settled_seconds, 1),
            },
            "kills": {
                "made": len(self.killed_lanes),
                "lanes": dict(sorted(Counter(self.killed_lanes).items())),
                "died_mid_send": self.died_mid_send,
            },
            "kept_receipts": self.kept_receipts,
            "sender_batches": asdict(self.sender),
            "violations": self.violations,
        }


def run(quick: bool = False) -> dict[str, Any]:
    plan = ReliabilityPlan.reduced() if quick else ReliabilityPlan()
    return run_reliability(plan).figures()


@dataclass(frozen=True)
class _Body:
    """A body put on the send queue: a request (`kind` "request" or "null_id") or a malformed
    body (`kind` its kind)."""

    text: str
    kind: str
    request: dict[str, Any] | None = None  # a request's fields
    named_id: str | None = None  # the id the gateway can read from it, if any

    def message_id(self, sqs_message_id: str) -> str:
        """The message it ends as: its id, else the gateway's default."""
        return self.named_id or f"sqs-{sqs_message_id}"


@dataclass(frozen=True)
class _Queued:
    body: _Body
    sqs_message_id: str
    message_id: str


@dataclass(frozen=True)
class _Outcome:
    """What the checks read once the run settled."""

    queued: list[_Queued]
    views: dict[str, View | None]
    items: dict[str, dict[str, Any]]  # message items by id
    sends: list[SendRecord]
    send_faults: dict[str, str]  # resource id -> what followed the send
    injected: dict[str, int]
    duplicate_sends: int
    dead_letters: list[tuple[str, str]]  # (SQS message id, message id)
    kills: int
    workers: int
    sender: Invocations

    def by_text(self) -> dict[str, _Queued]:
        """The requests by their text (unique: it carries the request's tag)."""
        return {q.body.request["text"]: q for q in self.queued if q.body.request is not None}

    def status(self, message_id: str) -> str:
        return _status(self.views.get(message_id))

    def reason(self, message_id: str) -> str:
        view = self.views.get(message_id)
        return str(view.get("reason") or "") if view else ""


def run_reliability(plan: ReliabilityPlan) -> ReliabilityReport:
    with (
        local_stack(
            "reliability", overrides=MALI_ACCOUNT, visibility_timeout=plan.visibility_timeout
        ) as stack,
        InvocationWatch(SENDER) as sender,
    ):
        orange = stack.simulator(OrangeSimulator)
        bodies = _bodies(_scheduled(sms_requests("reliability", (CIV, MLI), plan.messages // 2)))
        logger.info("reliability: %d bodies, faults %s", len(bodies), plan.faults)
        arm_kill_point(stack, DISPATCHER, KILL_POINT, plan.kills)
        orange.set_faults(plan.faults, seed=plan.seed)  # seeded: a run can be replayed
        started = time.monotonic()
        outage_end = started + plan.outage_after_seconds + plan.outage_seconds
        with (
            TokenExpirer(orange, every=plan.token_expiry_interval()) as expirer,
            _KilledLanes(stack, release=plan.release_killed_leases) as killed,
        ):
            sqs_ids = queue_bodies(stack, [body.text for body in bodies])
            queued = [_Queued(b, i, b.message_id(i)) for b, i in zip(bodies, sqs_ids, strict=True)]
            ids = [q.message_id for q in queued]
            _at_times(
                started,
                [
                    (
                        CANCEL_AFTER_SECONDS,
                        lambda: cancel_campaign(
                            from_local_dict(stack.endpoints), CANCELLED_CAMPAIGN
                        ),
                    ),
                    (plan.outage_after_seconds, lambda: orange.set_outage(plan.outage_seconds)),
                ],
            )
            final_views(gateway_client(stack), ids, plan.outage_seconds + plan.settle_seconds)
            all_final = time.monotonic()
            settle(stack, STATUS_SECONDS)
        arm_kill_point(stack, DISPATCHER, None, 0)
        orange.set_faults(None)
        elapsed = time.monotonic() - started
        views = final_views(gateway_client(stack), ids, STATUS_SECONDS)
        outcome = _Outcome(
            queued=queued,
            views=views,
            items=message_items(stack),
            sends=orange.sends(),
            send_faults=orange.send_faults(),
            injected=orange.faults_injected(),
            duplicate_sends=orange.stats()["duplicate_sends"],
            dead_letters=_dead_letters(stack),
            kills=len(killed.lanes),
            workers=_workers(stack),
            sender=sender.counts,
        )
        return ReliabilityReport(
            plan=plan,
            messages=sum(q.body.request is not None for q in queued),
            elapsed_seconds=elapsed,
            statuses=Counter(_status(view) for view in views.values()),
            reasons=Counter(
                f"{view['status']}: {view.get('reason')}"
                for view in views.values()
                if view and view["status"] in NEEDS_REASON
            ),
            simulator=orange.stats(),
            faults_injected=Counter(outcome.injected),
            token_expiries=expirer.expiries,
            dead_letters=Counter(outcome.status(mid) for _, mid in outcome.dead_letters),
            violations=[*_violations(stack, outcome)],
            null_ids=sum(q.body.kind == "null_id" for q in queued),
            malformed=Counter(q.body.kind for q in queued if q.body.request is None),
            after_the_send=Counter(outcome.send_faults.values()),
            outage_settled_seconds=all_final - outage_end if all_final >= outage_end else None,
            killed_lanes=list(killed.lanes),
            died_mid_send=len(_died_mid_send(outcome)),
            sender=sender.counts,
            kept_receipts=_kept_receipts(stack),
        )


def _scheduled(requests_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Priorities in turn, a short validity on every 10th, the cancelled campaign on every
    10th other, `"id": null` on every 10th other still."""
    scheduled = []
    for index, request in enumerate(requests_):
        extra: dict[str, Any] = {"priority": PRIORITIES[index % len(PRIORITIES)]}
        if index % 10 == 3:
            extra["validFor"] = SHORT_VALIDITY_SECONDS
        if index % 10 == 7:
            extra["campaign"] = CANCELLED_CAMPAIGN
        if index % 10 == NULL_ID_SLOT:
            extra["id"] = None
        scheduled.append({**request, **extra})
    return scheduled


def _bodies(requests_: list[dict[str, Any]]) -> list[_Body]:
    """The requests' bodies, a malformed one after every MALFORMED_EVERY-th."""
    bodies = []
    for index, request in enumerate(requests_):
        kind = "null_id" if request["id"] is None else "request"
        bodies.append(_Body(json.dumps(request), kind, request, request["id"]))
        if index % MALFORMED_EVERY == MALFORMED_EVERY - 1:
            bodies.append(_malformed(index // MALFORMED_EVERY, (CIV, MLI)[index % 2]))
    return bodies


def _malformed(n: int, route: Route) -> _Body:
    """The n-th malformed body, of the kinds in turn."""
    kind = MALFORMED_KINDS[n % len(MALFORMED_KINDS)]
    bad_id = f"reliability-bad-{n}"
    fields = {"id": bad_id, "channel": "sms", "to": route.number(n), "text": f"bad {bad_id}"}
    request = json.dumps(fields)
    if kind == "deeply_nested":
        return _Body("[" * 3000 + "]" * 3000, kind)  # past any JSON parser's recursion
    if kind == "huge_number":  # past Python's 4,300 digits for an int: unreadable whole
        return _Body(f'{request[:-1]}, "validFor": {"9" * 5000}}}', kind)
    if kind == "not_json":
        return _Body(request[: len(request) // 2], kind)
    if kind == "not_object":
        return _Body(json.dumps([bad_id, "sms", fields["to"]]), kind)
    invalid = {**fields, "text": ["not", "a", "text"], "colour": "red"}
    return _Body(json.dumps(invalid), kind, named_id=bad_id)


def _at_times(started: float, actions: Sequence[tuple[float, Callable[[], object]]]) -> None:
    """Each action once `seconds` have passed since `started`, in time order."""
    for seconds, action in sorted(actions, key=lambda timed: timed[0]):
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        action()


class _KilledLanes(BackgroundLoop):
    """The lanes of the dispatcher invocations the kill point ended, as they end; with
    `release`, each one's lease released at once (its holder is dead)."""

    def __init__(self, stack: LocalStack, *, release: bool) -> None:
        super().__init__("killed-lanes")
        self._stack = stack
        self._release = release
        self.lanes: list[str] = []

    def _run(self) -> None:
        while not self._stopping.wait(KILL_WATCH_SECONDS):
            self._watch()

    def _finish(self) -> None:
        self._watch()  # any kill since the last look

    def _watch(self) -> None:
        for event in killed_at_kill_point(self._stack, DISPATCHER)[len(self.lanes) :]:
            lane = _lane(event)
            self.lanes.append(lane)
            released = self._release and release_lease(self._stack, dispatch_lease_name(lane))
            logger.info("dispatcher killed at the kill point lane=%s released=%s", lane, released)


def _lane(event: Any) -> str:
    """The lane a dispatcher invocation was woken for (`{"lane": ...}` on the dispatch queue)."""
    try:
        return str(json.loads(event["Records"][0]["body"])["lane"])
    except (KeyError, IndexError, TypeError, ValueError):
        return "unknown lane"


def _kept_receipts(stack: LocalStack) -> dict[str, int]:
    """Receipts that beat their send: kept, then applied as the send was recorded (by its
    dispatcher) or by the sweep (its dispatcher killed in between), from the logs."""
    return {
        "kept": len(logged(stack, "receipt kept until its send is recorded")),
        "applied_at_send": sum(
            int(entry.get("count", 0))
            for entry in logged(stack, "early receipts applied", DISPATCHER)
        ),
        "applied_by_sweep": sum(
            int(entry.get("count", 0)) for entry in logged(stack, "stranded receipts applied")
        ),
    }


def _workers(stack: LocalStack) -> int:
    environment = stack.endpoints["function_environments"].get(DISPATCHER, {})
    return int(environment.get("SENDER_WORKERS_PER_ACCOUNT", DEFAULT_WORKERS))


def _violations(stack: LocalStack, outcome: _Outcome) -> list[str]:
    return [
        *_status_violations(outcome),
        *_one_message_violations(outcome),
        *_unknown_violations(outcome),
        *_send_violations(outcome),
        *_malformed_violations(outcome),
        *_outage_violations(outcome),
        *_after_the_send_violations(outcome),
        *_early_receipt_violations(outcome),
        *_queue_violations(stack, outcome),
    ]


def _status_violations(outcome: _Outcome) -> list[str]:
    """Every message final (`unknown` included); `unknown` and `failed` ones with a reason."""
    violations = []
    for message_id, view in sorted(outcome.views.items()):
        status = _status(view)
        if status not in FINAL_STATUSES:
            violations.append(f"{message_id}: not final ({_where(outcome, message_id, view)})")
        elif view and status in NEEDS_REASON and not view.get("reason"):
            violations.append(f"{message_id}: {status} without a reason")
    return violations


def _where(outcome: _Outcome, message_id: str, view: View | None) -> str:
    """Where a message that is not final stands: its status, attempts and latest update."""
    if view is None:
        return "missing"
    attempts = outcome.items.get(message_id, {}).get("attempts", {}).get("N", "0")
    history = view.get("history") or [{}]
    last = history[-1]
    return (
        f"{view['status']}, {attempts} attempts, {len(history)} updates, the latest "
        f"{last.get('status')} at {last.get('at')}: {last.get('reason', 'no reason')}"
    )


def _one_message_violations(outcome: _Outcome) -> list[str]:
    """Each request is exactly one message, under its id or, for `"id": null`, under the
    gateway's default: the table holds one message with its text, and that is the one."""
    holding: dict[str, list[str]] = {}
    for message_id, item in outcome.items.items():
        text = _request_text(item)
        if text is not None:
            holding.setdefault(text, []).append(message_id)
    violations = []
    for text, queued in sorted(outcome.by_text().items()):
        found = sorted(holding.get(text, []))
        if found != [queued.message_id]:
            violations.append(
                f"{queued.message_id} ({queued.body.kind}): its request is the messages {found}"
            )
    return violations


def _died_mid_send(outcome: _Outcome) -> list[str]:
    return [
        message_id
        for message_id in outcome.views
        if outcome.status(message_id) == "unknown" and outcome.reason(message_id) == DIED_MID_SEND
    ]


def _unknown_violations(outcome: _Outcome) -> list[str]:
    """ "The sender died mid-send" only from kills, at most one per other worker of a killed
    invocation; any other `unknown` at most one per answer that could hide a send: one more
    means a fault that proves nothing was sent (a 503, an outage, a burst) ended a message
    unknown."""
    violations = []
    died = len(_died_mid_send(outcome))
    if died > outcome.kills * (outcome.workers - 1):
        violations.append(
            f"{died} messages ended '{DIED_MID_SEND}', more than the other workers of "
            f"{outcome.kills} killed invocations could hold"
        )
    unknown = sum(outcome.status(message_id) == "unknown" for message_id in outcome.views) - died
    hiding = sum(outcome.injected.get(fault, 0) for fault in MAY_HIDE_A_SEND)
    if unknown > hiding:
        violations.append(
            f"{unknown} messages ended unknown, only {hiding} answers could hide a send"
        )
    return violations


def _send_violations(outcome: _Outcome) -> list[str]:
    """No SMS sent twice, by the simulator's counter and by its send records; no message
    `delivered` that was never sent; no `expired` or `cancelled` one that was."""
    sends = Counter((s.recipient, s.text) for s in outcome.sends)
    violations = [f"sent {n} times: {text}" for (_, text), n in sends.items() if n > 1]
    if outcome.duplicate_sends > 0:
        violations.append(f"the simulator counted {outcome.duplicate_sends} duplicate sends")
    sent_texts = {text for _, text in sends}
    for text, queued in sorted(outcome.by_text().items()):
        status = outcome.status(queued.message_id)
        if status == "delivered" and text not in sent_texts:
            violations.append(f"{queued.message_id}: delivered but never sent")
        if status in NEVER_SENT and text in sent_texts:
            violations.append(f"{queued.message_id}: {status} but sent")
    return violations


def _malformed_violations(outcome: _Outcome) -> list[str]:
    """Each malformed body `failed` with the reason under the id it names, or the default;
    none on the dead-letter queue; no sender batch or invocation failed for one."""
    violations = []
    dead = {sqs_id for sqs_id, _ in outcome.dead_letters}
    for queued in outcome.queued:
        if queued.body.request is not None:
            continue
        status, reason = outcome.status(queued.message_id), outcome.reason(queued.message_id)
        if status != "failed" or not reason.startswith(INVALID_REQUEST):
            violations.append(
                f"{queued.message_id} ({queued.body.kind}): {status} ({reason or 'no reason'}), "
                "not failed as an invalid request"
            )
        if queued.sqs_message_id in dead:
            violations.append(f"{queued.message_id} ({queued.body.kind}): on the dead-letter queue")
    sender = outcome.sender
    if sender.failed_records or sender.failed_invocations:
        violations.append(
            f"the sender left {sender.failed_records} records of {sender.failed_batches} "
            f"batches for another delivery and {sender.failed_invocations} of its invocations "
            "failed"
        )
    return violations


def _outage_violations(outcome: _Outcome) -> list[str]:
    """An outage only delays: no message `failed` but the malformed ones, none `rejected`,
    none `expired` but those with a validity (being final is `_status_violations`')."""
    violations = []
    for queued in outcome.queued:
        request = queued.body.request
        if request is None:
            continue
        status = outcome.status(queued.message_id)
        if status in ("failed", "rejected") or (status == "expired" and "validFor" not in request):
            violations.append(
                f"{queued.message_id}: {status} ({outcome.reason(queued.message_id)})"
            )
    return violations


def _after_the_send_violations(outcome: _Outcome) -> list[str]:
    """A send answered 502, 504 or held past the read timeout: sent once, never again, its
    message `unknown` as the README's table says."""
    violations = []
    by_text, sends = outcome.by_text(), Counter(s.text for s in outcome.sends)
    for record in outcome.sends:
        fault = outcome.send_faults.get(record.resource_id)
        queued = by_text.get(record.text)
        if fault not in ANSWERED_AFTER_THE_SEND or queued is None:
            continue
        status, reason = outcome.status(queued.message_id), outcome.reason(queued.message_id)
        if sends[record.text] != 1 or status != "unknown" or not reason.startswith(OUTCOME_UNKNOWN):
            violations.append(
                f"{queued.message_id}: answered {fault} after its send, then sent "
                f"{sends[record.text]} times in all and {status} ({reason})"
            )
    return violations


def _early_receipt_violations(outcome: _Outcome) -> list[str]:
    """A send whose receipts came before its answer: sent once and `delivered`, whether its
    dispatcher recorded it and applied them, or was killed in between (the sweep applies
    them); only another worker's kill, catching it before the send was recorded, may end it
    "the sender died mid-send"."""
    violations = []
    by_text, sends = outcome.by_text(), Counter(s.text for s in outcome.sends)
    for record in outcome.sends:
        queued = by_text.get(record.text)
        if outcome.send_faults.get(record.resource_id) != EARLY_RECEIPTS or queued is None:
            continue
        status, reason = outcome.status(queued.message_id), outcome.reason(queued.message_id)
        caught = status == "unknown" and reason == DIED_MID_SEND
        if sends[record.text] != 1 or not (status == "delivered" or caught):
            violations.append(
                f"{queued.message_id}: its receipts came before its answer, then sent "
                f"{sends[record.text]} times in all and {status} ({reason or 'no reason'})"
            )
    return violations


def _queue_violations(stack: LocalStack, outcome: _Outcome) -> list[str]:
    """Nothing left on the send queue; each dead letter's message `failed` with a reason."""
    violations = []
    if (left := queue_depth(stack)) > 0:
        violations.append(f"{left} requests left on the send queue")
    for _, message_id in outcome.dead_letters:
        status = outcome.status(message_id)
        if status != "failed" or not outcome.reason(message_id):
            violations.append(f"{message_id}: on the dead-letter queue as {status}")
    return violations


def _status(view: View | None) -> str:
    return str(view["status"]) if view else "missing"


def _request_text(item: dict[str, Any]) -> str | None:
    """The text of the request a message item was made from, if it has one."""
    try:
        request = json.loads(item["request"]["S"])
    except (KeyError, TypeError, ValueError, RecursionError):
        return None
    text = request.get("text") if isinstance(request, dict) else None
    return text if isinstance(text, str) else None


def _dead_letters(stack: LocalStack) -> list[tuple[str, str]]:
    """The requests on the dead-letter queue (left there: only read): each one's SQS message
    id and the id of the message it is, as the gateway reads it."""
    sqs = stack.clients.sqs()
    url = stack.endpoints["dlq_url"]
    dead: list[tuple[str, str]] = []
    # Hidden once read, so each is listed once; moto answers at once when the queue is empty.
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
    ).get("Messages", []):
        for message in messages:
            named = _named_id(message["Body"])
            dead.append((message["MessageId"], named or f"sqs-{message['MessageId']}"))
    return dead


def _named_id(body: str) -> str | None:
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        return None
    named = request.get("id") if isinstance(request, dict) else None
    return named if isinstance(named, str) else None
