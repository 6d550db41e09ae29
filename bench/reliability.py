"""The sender under injected faults (issue 7, point 8): SMS through the local stack while the
Orange simulator answers some sends with 503s (nothing sent: retried), 500s, 504s after the
send and answers held past the gateway's read timeout (each may follow a send: `unknown`, never
resent), resets and 403 code 53 bursts, every token expires every few hundred sends, and SQS
redelivers messages still being processed (a visibility timeout shorter than a slow batch).

The requests carry every priority in turn; every 10th has a validity of a few seconds (many of
those end `expired`), and every 10th other belongs to a campaign that is cancelled a few
seconds into the run (those not yet sent end `cancelled`).

The run ends when every message is final, then checks: every message has a final status (or
`unknown`), every `unknown` and `failed` has a reason, no more messages ended `unknown` than
answers could hide a send (a 503 or a burst never does), no SMS was sent twice (the simulator's
counter and its send records), a `delivered` message was sent, an `expired` or `cancelled` one
never was, nothing is left in the send queue, and every request on the dead-letter queue
belongs to a message that ended `failed` with a reason. `violations` lists what did not hold.

`make reliability` (`python -m bench --only reliability`) runs 1,000 SMS and exits 1 on a
violation; tests/e2e/test_reliability.py runs 100 through the same `run_reliability`.
"""

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from bench.local import (
    CIV,
    FINAL_STATUSES,
    MALI_ACCOUNT,
    MLI,
    TokenExpirer,
    View,
    final_views,
    gateway_client,
    local_stack,
    queue_depth,
    settle,
    sms_requests,
)
from cgw.cancel import cancel_campaign
from cgw.endpoints import from_local_dict
from gateway.carrier_http import READ_TIMEOUT
from infra.local.stack import LocalStack
from infra.simulators.orange import FaultPlan, OrangeSimulator, Stats

DEFAULT_FAULTS = FaultPlan(
    http_500=0.03,
    http_503=0.05,
    http_504=0.02,
    reset=0.03,
    timeout=0.02,
    rate_burst=0.05,
    # Just past the gateway's read timeout: it gives up while the SMS is already sent.
    timeout_seconds=READ_TIMEOUT + 1,
)
# Longer than a usual batch (ten records at a few per second), shorter than one that also
# meets a held answer (READ_TIMEOUT more): SQS then redelivers requests whose first delivery
# is still being worked on.
VISIBILITY_TIMEOUT = 15
STATUS_SECONDS = 120.0
NEEDS_REASON = frozenset({"unknown", "failed", "expired", "cancelled"})
NEVER_SENT = frozenset({"expired", "cancelled"})
# The faults whose answer leaves the gateway unable to tell whether the SMS went out.
MAY_HIDE_A_SEND = ("http_500", "http_504", "timeout", "reset")
PRIORITIES = ("high", "normal", "bulk")
SHORT_VALIDITY_SECONDS = 3
CANCELLED_CAMPAIGN = "reliability-cancelled"
CANCEL_AFTER_SECONDS = 4.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReliabilityPlan:
    messages: int = 1000  # split evenly between the two accounts
    seed: int = 7  # the simulator's fault RNG
    faults: FaultPlan = DEFAULT_FAULTS
    visibility_timeout: int = VISIBILITY_TIMEOUT
    # Generous: a request failing four times in a row waits 10+20+40+80 s of backoff.
    settle_seconds: float = 900.0

    def token_expiry_interval(self) -> int:
        """Sends between two token expiries: five expiries over the run (every 200 of 1,000)."""
        return max(1, self.messages // 5)


@dataclass
class ReliabilityReport:
    plan: ReliabilityPlan
    messages: int
    elapsed_seconds: float
    statuses: Counter[str]
    reasons: Counter[str]  # "status: reason" of unknown and failed messages
    simulator: Stats
    faults_injected: Counter[str]
    token_expiries: int
    dead_letters: Counter[str]  # statuses of the messages whose requests are on the DLQ
    violations: list[str]

    def figures(self) -> dict[str, Any]:
        return {
            "plan": {
                "seed": self.plan.seed,
                "faults": asdict(self.plan.faults),
                "token_expiry_every": self.plan.token_expiry_interval(),
                "visibility_timeout": self.plan.visibility_timeout,
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
            "violations": self.violations,
        }


def run(quick: bool = False) -> dict[str, Any]:
    return run_reliability(ReliabilityPlan(messages=100 if quick else 1000)).figures()


def run_reliability(plan: ReliabilityPlan) -> ReliabilityReport:
    with local_stack(
        "reliability", overrides=MALI_ACCOUNT, visibility_timeout=plan.visibility_timeout
    ) as stack:
        orange = stack.simulator(OrangeSimulator)
        requests_ = _scheduled(sms_requests("reliability", (CIV, MLI), plan.messages // 2))
        logger.info("reliability: %d SMS, faults %s", len(requests_), plan.faults)
        started = time.monotonic()
        orange.set_faults(plan.faults, seed=plan.seed)  # seeded: a run can be replayed
        ids = [r["id"] for r in requests_]
        with TokenExpirer(orange, every=plan.token_expiry_interval()) as expirer:
            gateway_client(stack).send(requests_)
            time.sleep(CANCEL_AFTER_SECONDS)
            cancel_campaign(from_local_dict(stack.endpoints), CANCELLED_CAMPAIGN)
            final_views(gateway_client(stack), ids, plan.settle_seconds)
            settle(stack, STATUS_SECONDS)
        orange.set_faults(None)
        elapsed = time.monotonic() - started
        views = final_views(gateway_client(stack), ids, STATUS_SECONDS)
        dead_letter_ids = _dead_letter_ids(stack)
        return ReliabilityReport(
            plan=plan,
            messages=len(requests_),
            elapsed_seconds=elapsed,
            statuses=Counter(_status(view) for view in views.values()),
            reasons=Counter(
                f"{view['status']}: {view.get('reason')}"
                for view in views.values()
                if view and view["status"] in NEEDS_REASON
            ),
            simulator=orange.stats(),
            faults_injected=Counter(orange.faults_injected()),
            token_expiries=expirer.expiries,
            dead_letters=Counter(_status(views.get(i)) for i in dead_letter_ids),
            violations=_violations(stack, orange, requests_, views, dead_letter_ids),
        )


def _scheduled(requests_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Priorities in turn, a short validity on every 10th, the cancelled campaign on every
    10th other."""
    scheduled = []
    for index, request in enumerate(requests_):
        extra: dict[str, Any] = {"priority": PRIORITIES[index % len(PRIORITIES)]}
        if index % 10 == 3:
            extra["validFor"] = SHORT_VALIDITY_SECONDS
        if index % 10 == 7:
            extra["campaign"] = CANCELLED_CAMPAIGN
        scheduled.append({**request, **extra})
    return scheduled


def _violations(
    stack: LocalStack,
    orange: OrangeSimulator,
    requests_: list[dict[str, Any]],
    views: dict[str, View | None],
    dead_letter_ids: list[str],
) -> list[str]:
    return [
        *_status_violations(views),
        *_unknown_violations(orange, views),
        *_send_violations(orange, requests_, views),
        *_queue_violations(stack, views, dead_letter_ids),
    ]


def _status_violations(views: dict[str, View | None]) -> list[str]:
    """Every message final (`unknown` included); `unknown` and `failed` ones with a reason."""
    violations = []
    for message_id, view in sorted(views.items()):
        status = _status(view)
        if status not in FINAL_STATUSES:
            violations.append(f"{message_id}: not final ({status})")
        elif view and status in NEEDS_REASON and not view.get("reason"):
            violations.append(f"{message_id}: {status} without a reason")
    return violations


def _unknown_violations(orange: OrangeSimulator, views: dict[str, View | None]) -> list[str]:
    """At most one `unknown` message per answer that could hide a send: one more means a
    fault that proves nothing was sent (a 503, a burst) ended a message unknown."""
    unknown = sum(_status(view) == "unknown" for view in views.values())
    injected = orange.faults_injected()
    hiding = sum(injected.get(fault, 0) for fault in MAY_HIDE_A_SEND)
    if unknown > hiding:
        return [f"{unknown} messages ended unknown, only {hiding} answers could hide a send"]
    return []


def _send_violations(
    orange: OrangeSimulator, requests_: list[dict[str, Any]], views: dict[str, View | None]
) -> list[str]:
    """No SMS sent twice, by the simulator's counter and by its send records; no message
    `delivered` that was never sent."""
    sends = Counter((s.recipient, s.text) for s in orange.sends())
    violations = [f"sent {n} times: {text}" for (_, text), n in sends.items() if n > 1]
    if (duplicates := orange.stats()["duplicate_sends"]) > 0:
        violations.append(f"the simulator counted {duplicates} duplicate sends")
    sent_texts = {text for _, text in sends}
    return (
        violations
        + [
            f"{r['id']}: delivered but never sent"
            for r in requests_
            if _status(views.get(r["id"])) == "delivered" and r["text"] not in sent_texts
        ]
        + [
            f"{r['id']}: {_status(views.get(r['id']))} but sent"
            for r in requests_
            if _status(views.get(r["id"])) in NEVER_SENT and r["text"] in sent_texts
        ]
    )


def _queue_violations(
    stack: LocalStack, views: dict[str, View | None], dead_letter_ids: list[str]
) -> list[str]:
    """Nothing left on the send queue; each dead letter's message `failed` with a reason."""
    violations = []
    if (left := queue_depth(stack)) > 0:
        violations.append(f"{left} requests left on the send queue")
    for message_id in dead_letter_ids:
        view = views.get(message_id)
        if _status(view) != "failed" or not (view and view.get("reason")):
            violations.append(f"{message_id}: on the dead-letter queue as {_status(view)}")
    return violations


def _status(view: View | None) -> str:
    return str(view["status"]) if view else "missing"


def _dead_letter_ids(stack: LocalStack) -> list[str]:
    """The ids of the requests on the dead-letter queue (left there: only read)."""
    sqs = stack.clients.sqs()
    url = stack.endpoints["dlq_url"]
    ids: list[str] = []
    # Hidden once read, so each is listed once; moto answers at once when the queue is empty.
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
    ).get("Messages", []):
        ids += [str(json.loads(m["Body"]).get("id")) for m in messages]
    return ids
