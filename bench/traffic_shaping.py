"""Traffic shaping (issue 13): a bulk backlog on one Orange account, and OTP-like `high` SMS on
the same account and `normal` SMS on another account queued every 2 seconds behind it.

Measured on the local stack against the Orange simulator with a network (60 ms +- 25 ms each
way, 1 % of calls 300 ms more), in one run:

1. baseline: account B's `normal` probes with account A idle;
2. shaped: A's bulk backlog (recorded in its lane before the probes start), `high` probes on
   A, `normal` probes on B;
3. unshaped, for comparison (today's first-come first-served order within an account): the
   same with everything `normal`.

Queue-to-carrier time is from just before the probe's SendMessage to the simulator's record
of the send (one machine, one clock). A probe not sent by the end of its run is counted as
such, not given a time. A's rate is its sends during the probing window over the window,
against the 5/s cap; the simulator counts its 403 code 53 answers.
"""

import logging
import math
import statistics
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.local import (
    CIV,
    MALI_ACCOUNT,
    MLI,
    Route,
    gateway_client,
    local_stack,
    process_cpu_seconds,
    queue_depth,
    wait_until,
)
from cgw.cancel import cancel_campaign
from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack
from infra.simulators.orange import NetworkDelay, OrangeSimulator

logger = logging.getLogger("bench.traffic_shaping")

CAP_PER_SECOND = 5.0
PROBE_EVERY_SECONDS = 2.0
WARM_UP_SECONDS = 5.0
BACKLOG_SECONDS = 300.0
GRACE_SECONDS = 8.0  # after the last probe, for it to reach Orange
GOAL_P95_SECONDS = 2.0
GOAL_ISOLATION_RATIO = 1.2
GOAL_CANCEL_SECONDS = 60.0


@dataclass(frozen=True)
class Size:
    backlog: int
    window: float  # seconds of probing
    baseline_window: float
    campaign: int = 1000  # messages of the campaign cancelled at the end


FULL = Size(backlog=3000, window=120.0, baseline_window=40.0, campaign=10_000)
QUICK = Size(backlog=300, window=30.0, baseline_window=16.0, campaign=1000)


@dataclass
class Probes:
    """SMS queued one every 2 s, and when each was queued."""

    queued_at: dict[str, float] = field(default_factory=dict)  # text -> epoch seconds


def run(quick: bool, network: NetworkDelay | None = None) -> dict[str, Any]:
    size = QUICK if quick else FULL
    network = network or NetworkDelay.realistic()
    with local_stack("traffic", overrides=MALI_ACCOUNT, carrier_network=network) as stack:
        baseline = _baseline(stack, size)
        shaped = _scenario(stack, size, shaped=True)
        unshaped = _scenario(stack, size, shaped=False)
        campaign_cancel = _campaign_cancel(stack, size.campaign)
        network_stats = stack.simulator(OrangeSimulator).network_stats()
    b_idle = baseline["b_normal"]["p95_seconds"]
    b_busy = shaped["b_normal"]["p95_seconds"]
    return {
        "size": "quick" if quick else "full",
        "backlog": size.backlog,
        "window_seconds": size.window,
        "network": _network_description(network),
        "network_stats": network_stats,
        "baseline": baseline,
        "shaped": shaped,
        "unshaped": unshaped,
        "campaign_cancel": campaign_cancel,
        "isolation_ratio": round(b_busy / b_idle, 2) if b_idle and b_busy else None,
        "goals": {
            "p95_seconds": GOAL_P95_SECONDS,
            "isolation_ratio": GOAL_ISOLATION_RATIO,
            "ratio_to_cap": "at the limiter's ceiling, never over the cap",
            "campaign_cancel_seconds": GOAL_CANCEL_SECONDS,
            "sent_after_cancel": 0,
        },
    }


def _baseline(stack: LocalStack, size: Size) -> dict[str, Any]:
    """B's normal probes with A idle."""
    tag = f"idle{uuid.uuid4().hex[:4]}"
    gateway = gateway_client(stack)
    b = _probe(gateway, tag, [(MLI, "normal", "b")], size.baseline_window)
    _wait_for_sends(stack, b.queued_at, GRACE_SECONDS)
    return {"b_normal": _latency(stack, b.queued_at)}


def _scenario(stack: LocalStack, size: Size, *, shaped: bool) -> dict[str, Any]:
    orange = stack.simulator(OrangeSimulator)
    gateway = gateway_client(stack)
    tag = ("shaped" if shaped else "fifo") + uuid.uuid4().hex[:4]
    backlog_priority, a_priority = ("bulk", "high") if shaped else ("normal", "normal")
    campaign = f"{tag}-backlog"
    backlog = [
        _sms(f"{tag}-bulk-{n}", CIV.number(10_000 + n), backlog_priority, campaign)
        for n in range(size.backlog)
    ]
    logger.info("traffic: %s, a backlog of %d on account A", tag, len(backlog))
    before = orange.stats()
    queued = time.monotonic()
    gateway.send(backlog)
    # The backlog recorded in its lane first: the probes measure the lanes, not the intake
    # writing 3,000 messages (its own figure: how long that took).
    wait_until(lambda: queue_depth(stack) == 0, BACKLOG_SECONDS)
    recorded_seconds = time.monotonic() - queued
    time.sleep(WARM_UP_SECONDS)
    window_start = time.time()
    probes = _probe(gateway, tag, [(CIV, a_priority, "a"), (MLI, "normal", "b")], size.window)
    window_end = time.time()
    _wait_for_sends(stack, probes.queued_at, GRACE_SECONDS)
    a_probes = {t: at for t, at in probes.queued_at.items() if " a " in t}
    b_probes = {t: at for t, at in probes.queued_at.items() if " b " in t}
    a_sends = [
        s.time
        for s in orange.sends()
        if s.recipient.startswith(CIV.prefix) and window_start <= s.time <= window_end
    ]
    after = orange.stats()
    _cancel(stack, campaign)
    return {
        "a_priority": a_priority,
        "backlog_priority": backlog_priority,
        "backlog_recorded_seconds": round(recorded_seconds, 1),
        f"a_{a_priority}": _latency(stack, a_probes),
        "b_normal": _latency(stack, b_probes),
        "a_sms_per_second": round(len(a_sends) / (window_end - window_start), 3),
        "a_ratio_to_cap": round(len(a_sends) / (window_end - window_start) / CAP_PER_SECOND, 3),
        "rejected_53": after["rejected_53"] - before["rejected_53"],
        "duplicate_sends": after["duplicate_sends"] - before["duplicate_sends"],
    }


def _campaign_cancel(stack: LocalStack, messages: int) -> dict[str, Any]:
    """A `bulk` campaign on account A, recorded in its lane while A sends it, then cancelled
    with `cgw cancel --campaign`: how long the command took, what it cancelled, and how many of
    the campaign's SMS Orange received after it returned (none may be)."""
    orange = stack.simulator(OrangeSimulator)
    tag = f"cancel{uuid.uuid4().hex[:4]}"
    campaign = f"{tag}-campaign"
    requests = [
        _sms(f"{tag}-c-{n}", CIV.number(30_000 + n), "bulk", campaign) for n in range(messages)
    ]
    logger.info("traffic: %s, a campaign of %d on account A, then cancelled", tag, messages)
    gateway_client(stack).send(requests)
    wait_until(lambda: queue_depth(stack) == 0, BACKLOG_SECONDS * messages / 3000)
    started = time.time()
    moto_started = process_cpu_seconds(stack.moto_pid)
    summary = cancel_campaign(from_local_dict(stack.endpoints), campaign)
    returned = time.time()
    # Near 1.0: moto, serving one DynamoDB request at a time, set the command's pace.
    moto_share = (process_cpu_seconds(stack.moto_pid) - moto_started) / (returned - started)
    time.sleep(GRACE_SECONDS)  # a send still in flight would reach Orange meanwhile
    sent = [s.time for s in orange.sends() if s.text.startswith(f"bench {tag} ")]
    return {
        "messages": messages,
        "cancel_seconds": round(returned - started, 1),
        "moto_cpu_share": round(moto_share, 2),
        "cancelled": summary.cancelled,
        "too_late": summary.too_late,
        "in_flight_left": len(summary.in_flight_left),
        "sent_before_return": sum(1 for at in sent if at <= returned),
        "sent_after_return": sum(1 for at in sent if at > returned),
    }


def _sms(message_id: str, to: str, priority: str, campaign: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "id": message_id,
        "channel": "sms",
        "to": to,
        "text": f"bench {message_id.replace('-', ' ')}",
        "priority": priority,
    }
    if campaign:
        request["campaign"] = campaign
    return request


def _probe(
    gateway: GatewayClient, tag: str, kinds: Iterable[tuple[Route, str, str]], window: float
) -> Probes:
    """One SMS of each kind every 2 s for `window` seconds; each queued on its own."""
    probes = Probes()
    lock = threading.Lock()
    count = int(window / PROBE_EVERY_SECONDS)
    start = time.monotonic()
    for n in range(count):
        time.sleep(max(0.0, start + n * PROBE_EVERY_SECONDS - time.monotonic()))
        for route, priority, label in kinds:
            request = _sms(f"{tag}-{label}-{n}", route.number(20_000 + n), priority)
            with lock:
                probes.queued_at[str(request["text"])] = time.time()
            gateway.send([request])
    return probes


def _wait_for_sends(stack: LocalStack, texts: Mapping[str, float], grace: float) -> None:
    orange = stack.simulator(OrangeSimulator)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        sent = {s.text for s in orange.sends()}
        if all(text in sent for text in texts):
            return
        time.sleep(0.5)


def _latency(stack: LocalStack, queued_at: Mapping[str, float]) -> dict[str, Any]:
    sent_at = {s.text: s.time for s in stack.simulator(OrangeSimulator).sends()}
    waits = sorted(sent_at[t] - at for t, at in queued_at.items() if t in sent_at)
    figures: dict[str, Any] = {"probes": len(queued_at), "sent": len(waits)}
    if waits:
        figures |= {
            "p50_seconds": round(statistics.median(waits), 3),
            "p95_seconds": round(_percentile(waits, 0.95), 3),
            "max_seconds": round(waits[-1], 3),
        }
    return figures


def _percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _cancel(stack: LocalStack, campaign: str) -> None:
    """What is left of the backlog, cancelled: the next scenario starts on an idle account."""
    cancel_campaign(from_local_dict(stack.endpoints), campaign)


def _network_description(network: NetworkDelay) -> str:
    slow = f", {network.slow_share:.0%} of them {network.slow_extra_ms:g} ms more"
    return f"{network.mean_ms:g} ms +- {network.jitter_ms:g} ms each way{slow}"
