"""The sender at the carrier's cap (issue 7, points 1 and 2), on the local stack.

(a) Throughput: a backlog of 300 SMS per account (queued with the sender's event source
    disabled), drained by the template's 3 concurrent sender invocations; first one account
    alone (the limiter's ceiling), then two accounts
    in parallel (Côte d'Ivoire through "default", Mali through "mali", each with its own
    credentials and the simulator's sliding 5/s window). From the simulator's send records,
    per account: the sustained rate (sends - 1) / (last - first) and its ratio to the cap,
    and the most sends in any one-second window; from its counters, 403 code 53 answers and
    token requests. Every message must end `delivered`.
(b) Token expiry: one account, 300 SMS, every token expired once half have been sent; the
    token endpoint calls over the stack's whole life (start-up included) and the 401s.
(c) DynamoDB requests per SMS lifecycle (the send and its two receipts), counted by operation
    with moto's request recorder over a small batch on the warm two-account stack of (a).
"""

import bisect
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from bench.local import (
    CIV,
    MALI_ACCOUNT,
    MLI,
    Route,
    TokenExpirer,
    final_views,
    gateway_client,
    local_stack,
    process_cpu_seconds,
    settle,
    sms_requests,
    wait_until,
)
from bench.recording import MotoRecording, of_service, per_message
from infra.local.stack import LocalStack
from infra.local.template.functions import SqsEvent
from infra.simulators.orange import OrangeSimulator, Stats

CAP_PER_SECOND = 5.0  # the simulator's (and Orange's) per-account cap
WINDOW_SECONDS = 1.0
SETTLE_SECONDS = 600.0
STATUS_SECONDS = 120.0
WARM_UP_PER_ROUTE = 5  # brings up the sender's workers and tokens before anything is timed

logger = logging.getLogger(__name__)


def run(quick: bool = False) -> dict[str, Any]:
    per_account = 60 if quick else 300
    with local_stack("bench-one-account") as stack:
        warm_up(stack, (CIV,))
        one_account = measure_throughput(stack, (CIV,), per_account)
    # Scheduled functions at their AWS intervals: after their start-up run, none runs again
    # before the DynamoDB count is over, so it counts only the sender's and receipts' requests.
    with local_stack("bench-two-accounts", overrides=MALI_ACCOUNT, schedule_speedup=1) as stack:
        warm_up(stack, (CIV, MLI))
        two_accounts = measure_throughput(stack, (CIV, MLI), per_account)
        dynamodb = measure_dynamodb_requests(stack, (CIV, MLI), 5 if quick else 15)
    with local_stack("bench-token") as stack:
        token_expiry = measure_token_expiry(stack, per_account)
    return {
        "one_account": one_account,
        "two_accounts": two_accounts,
        "token_expiry": token_expiry,
        "dynamodb_per_sms": dynamodb,
    }


def warm_up(stack: LocalStack, routes: Sequence[Route]) -> None:
    requests_ = sms_requests("warm-up", routes, WARM_UP_PER_ROUTE)
    gateway_client(stack).send(requests_)
    if not settle(stack, SETTLE_SECONDS):
        raise RuntimeError("the warm-up SMS did not settle")


def measure_throughput(
    stack: LocalStack, routes: Sequence[Route], per_account: int, tag: str = "throughput"
) -> dict[str, Any]:
    """`tag` names the SMS (their ids): a second run on the same stack needs another."""
    orange = stack.simulator(OrangeSimulator)
    gateway = gateway_client(stack)
    before = orange.stats()
    requests_ = sms_requests(tag, routes, per_account)
    logger.info("throughput: %d SMS through %d account(s)", len(requests_), len(routes))
    # The whole backlog is queued before the senders start, as the figure has it:
    # queued while they run, the first seconds would measure the queueing too.
    with stack.queue_sources_disabled("SenderFunction"):
        gateway.send(requests_)
    started = time.time()
    cpu_started = time.process_time(), process_cpu_seconds(stack.moto_pid)
    # The simulator's counter first: each look at the queue's depth has moto go through
    # every queued message.
    wait_until(lambda: orange.stats()["sends"] - before["sends"] >= len(requests_), SETTLE_SECONDS)
    settled = settle(stack, SETTLE_SECONDS)
    elapsed = time.time() - started
    # This process hosts the API front and the pollers, moto's its DynamoDB and SQS: either
    # near 1.0 (one core, under its GIL) means it, not the gateway, set the pace.
    host_cpu_share = (time.process_time() - cpu_started[0]) / elapsed
    moto_cpu_share = (process_cpu_seconds(stack.moto_pid) - cpu_started[1]) / elapsed
    texts = {str(r["text"]) for r in requests_}
    sends = [s for s in orange.sends() if s.text in texts]
    if not sends:
        raise RuntimeError("the simulator accepted none of the SMS")
    views = final_views(gateway, [r["id"] for r in requests_], STATUS_SECONDS)
    statuses = Counter(view["status"] if view else "missing" for view in views.values())
    # Why any message did not end delivered: the gateway's reason, kept for diagnosis.
    not_delivered = Counter(
        f"{view['status']}: {view.get('reason')}" if view else "missing"
        for view in views.values()
        if not view or view["status"] != "delivered"
    )
    return {
        "sms": len(requests_),
        "settled": settled,
        "accounts": {
            route.account: {"country": route.country}
            | account_figures(s.time for s in sends if s.recipient.startswith(route.prefix))
            for route in routes
        },
        **_drain_figures(stack, len(routes), len(requests_), max(s.time for s in sends) - started),
        **_counter_figures(before, orange.stats()),
        "statuses": dict(statuses),
        "all_delivered": not not_delivered,
        "not_delivered": dict(not_delivered.most_common()),
        "host_cpu_share": round(host_cpu_share, 2),
        "moto_cpu_share": round(moto_cpu_share, 2),
    }


def _drain_figures(stack: LocalStack, accounts: int, sms: int, drain: float) -> dict[str, Any]:
    concurrency = _sender_concurrency(stack)
    return {
        "concurrency": concurrency,
        "drain_seconds": round(drain, 2),
        # What the invocations spent on each SMS, waits included: every account can be at
        # its cap only while this stays under concurrency / (cap x accounts).
        "invocation_seconds_per_sms": round(concurrency * drain / sms, 3),
        "invocation_seconds_per_sms_budget": round(concurrency / (CAP_PER_SECOND * accounts), 3),
    }


def _counter_figures(before: Stats, after: Stats) -> dict[str, Any]:
    """The simulator's counters over the run; token requests also over the stack's life."""
    return {
        "rejected_53": after["rejected_53"] - before["rejected_53"],
        "duplicate_sends": after["duplicate_sends"] - before["duplicate_sends"],
        "token_requests": after["token_requests"] - before["token_requests"],
        "token_requests_since_start": after["token_requests"],
        "token_requests_per_1000_sms": round(1000 * after["token_requests"] / after["sends"], 2),
    }


def account_figures(times: Iterable[float]) -> dict[str, Any]:
    """One account's send times: sustained rate against the cap, fullest one-second window."""
    ordered = sorted(times)
    if len(ordered) < 2:
        return {"sends": len(ordered)}
    span = ordered[-1] - ordered[0]
    rate = (len(ordered) - 1) / span
    # For each send, the sends in [its time, its time + 1 s): the fullest sliding window.
    fullest = max(
        bisect.bisect_left(ordered, start + WINDOW_SECONDS) - index
        for index, start in enumerate(ordered)
    )
    return {
        "sends": len(ordered),
        "span_seconds": round(span, 2),
        "sms_per_second": round(rate, 3),
        "cap_per_second": CAP_PER_SECOND,
        "ratio_to_cap": round(rate / CAP_PER_SECOND, 3),
        "max_sends_in_any_1s_window": fullest,
    }


def measure_token_expiry(stack: LocalStack, count: int) -> dict[str, Any]:
    """One account; all tokens expire once half the SMS were sent."""
    orange = stack.simulator(OrangeSimulator)
    gateway = gateway_client(stack)
    requests_ = sms_requests("token", (CIV,), count)
    logger.info("token expiry: %d SMS, tokens expire after %d sends", count, count // 2)
    with TokenExpirer(orange, every=count // 2, limit=1) as expirer:
        gateway.send(requests_)
        settled = settle(stack, SETTLE_SECONDS)
    stats = orange.stats()
    views = final_views(gateway, [r["id"] for r in requests_], STATUS_SECONDS)
    return {
        "sms": count,
        "settled": settled,
        "token_expiries": expirer.expiries,
        # One account, and nothing fetched a token before: the whole life of the stack.
        "token_requests": stats["token_requests"],
        "token_requests_goal": 2,
        "rejected_401": stats["rejected_401"],
        "sends": stats["sends"],
        "duplicate_sends": stats["duplicate_sends"],
        "delivered": sum(1 for v in views.values() if v and v["status"] == "delivered"),
    }


def measure_dynamodb_requests(
    stack: LocalStack, routes: Sequence[Route], per_route: int
) -> dict[str, Any]:
    """DynamoDB requests per SMS, by operation, while a small batch is sent and receipted.

    Statuses are read after the window and no scheduled function runs during it, so every
    DynamoDB request recorded is the sender's or the receipt function's.
    """
    requests_ = sms_requests("dynamodb", routes, per_route)
    logger.info("DynamoDB requests: %d SMS", len(requests_))
    with MotoRecording(stack.clients.endpoint_url) as recording:
        gateway_client(stack).send(requests_)
        settled = settle(stack, SETTLE_SECONDS)
    operations = of_service(recording.operations(), "DynamoDB")
    count = len(requests_)
    return {
        "sms": count,
        "settled": settled,
        "receipts_per_sms": 2,
        "total": round(operations.total() / count, 2),
        "by_operation": per_message(operations, count),
    }


def _sender_concurrency(stack: LocalStack) -> int:
    return next(
        event.maximum_concurrency
        for function in stack.functions
        if function.logical_id == "SenderFunction"
        for event in function.events
        if isinstance(event, SqsEvent)
    )
