"""The cap used under a real network (issue 15, point 2): on the local stack, with the Orange
simulator adding 60 ms +- 25 ms each way (1 % of trips 300 ms slower), a backlog on one account
and then one on each of two accounts at once, sent with the arrival pacer (`OrangePacing`
`answers`, the default) and with the rate slots alone (`slots`, the fixed 4 % margin of
before), in the same run. Beside them, the pacing model (`bench/pacing_model.py`) for the same
network: the pacer, the slots, and an oracle that knows every arrival (the bound).

Then an account billed per segment (the gateway's `OrangeSegmentBilledAccounts` and the
simulator both told so) fed a 50/50 shuffled mix of 1- and 2-part SMS: its units (segments,
as the simulator counts them) per second against its 5 a second, and the 403 share; and the
model fed the same mix."""

import bisect
import json
import logging
from collections.abc import Sequence
from typing import Any

from bench.local import (
    CIV,
    MALI_ACCOUNT,
    MLI,
    Route,
    final_views,
    gateway_client,
    local_stack,
    settle,
    wait_until,
)
from bench.pacing_model import request_costs, simulate
from bench.sender_throughput import (
    CAP_PER_SECOND,
    SETTLE_SECONDS,
    STATUS_SECONDS,
    WINDOW_SECONDS,
    measure_throughput,
    warm_up,
)
from gateway.orange.config import OrangeConfig
from infra.local.stack import LocalStack
from infra.simulators._network import NetworkDelay
from infra.simulators._segments import count_segments
from infra.simulators.orange import OrangeSimulator

logger = logging.getLogger("bench.cap_under_jitter")
GOAL_RATIO = 0.97
GOAL_REFUSED_SHARE = 0.005
GOAL_UNIT_RATIO = 0.9  # issue 15, point 2, for an account billed per segment
MODEL_POLICIES = (("answers", 0.04), ("slots", 0.04), ("oracle", 0.0))
MODEL_SENDS = 20_000
TWO_PART_SHARE = 0.5
TWO_PART_LENGTH = 200  # GSM-7 characters: two segments
MIX_SEED = 15


def run(quick: bool) -> dict[str, Any]:
    network = NetworkDelay.realistic()
    backlog = 150 if quick else 600
    measured = {pacing: _measure(pacing, network, backlog) for pacing in ("answers", "slots")}
    model = {
        policy: _model_figures(policy, network, margin)
        # The oracle without slots: the most any sender could get through this network.
        for policy, margin in MODEL_POLICIES
    }
    mix = 100 if quick else 300
    return {
        "network": f"{network.mean_ms:g} ms +- {network.jitter_ms:g} ms each way, "
        f"{network.slow_share:.0%} of trips {network.slow_extra_ms:g} ms more",
        "backlog_per_account": backlog,
        "measured": measured,
        "model": model,
        "goals": {"ratio_to_cap": GOAL_RATIO, "refused_share": GOAL_REFUSED_SHARE},
        "segment_billed": {
            "sms": mix,
            "two_part_share": TWO_PART_SHARE,
            "measured": _measure_segments(network, mix),
            "model": {
                policy: _model_figures(policy, network, margin, TWO_PART_SHARE)
                for policy, margin in MODEL_POLICIES
            },
            "goal_ratio_to_unit_cap": GOAL_UNIT_RATIO,
        },
    }


def _measure(pacing: str, network: NetworkDelay, backlog: int) -> dict[str, Any]:
    overrides = {**MALI_ACCOUNT, "OrangePacing": pacing}
    logger.info("cap under jitter: pacing by %s", pacing)
    with local_stack(f"jitter-{pacing}", overrides=overrides, carrier_network=network) as stack:
        warm_up(stack, (CIV, MLI))
        one = measure_throughput(stack, (CIV,), backlog)
        two = measure_throughput(stack, (CIV, MLI), backlog, tag="two-accounts")
    return {"one_account": _figures(one), "two_accounts": _figures(two)}


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    attempts = run["sms"] + run["rejected_53"]
    return {
        "accounts": {
            name: {k: account[k] for k in ("sends", "ratio_to_cap", "max_sends_in_any_1s_window")}
            for name, account in run["accounts"].items()
        },
        "sms": run["sms"],
        "rejected_53": run["rejected_53"],
        "refused_share": round(run["rejected_53"] / attempts, 4),
        "duplicate_sends": run["duplicate_sends"],
        "all_delivered": run["all_delivered"],
        "moto_cpu_share": run["moto_cpu_share"],
    }


def _model_figures(
    policy: Any, network: NetworkDelay, margin: float, two_part_share: float = 0.0
) -> dict[str, Any]:
    result = simulate(
        policy, network, sends=MODEL_SENDS, margin=margin, two_part_share=two_part_share
    )
    return {
        "sends": result.sends,
        "slot_margin": margin,
        "ratio_to_cap": round(result.ratio_to_cap, 3),
        "refused_share": round(result.refused_share, 4),
    }


def _measure_segments(network: NetworkDelay, count: int) -> dict[str, Any]:
    """`count` SMS, half of them 2-part, through an account billed per segment."""
    overrides = {"OrangeSegmentBilledAccounts": CIV.account}
    logger.info("cap under jitter: %d SMS billed per segment", count)
    with local_stack("jitter-segments", overrides=overrides, carrier_network=network) as stack:
        _bill_per_segment(stack, CIV.account)
        warm_up(stack, (CIV,))
        orange = stack.simulator(OrangeSimulator)
        gateway = gateway_client(stack)
        before = orange.stats()
        requests_ = mixed_requests("segments", CIV, count)
        # All queued before the senders start, as in `measure_throughput`.
        with stack.queue_sources_disabled("SenderFunction"):
            gateway.send(requests_)
        # By their texts: the warm-up's last sends may still come (an empty send queue is not
        # an empty lane), and must not count for these.
        texts = {r["text"] for r in requests_}
        wait_until(lambda: len(_sent(orange, texts)) >= count, SETTLE_SECONDS)
        settled = settle(stack, SETTLE_SECONDS)
        after = orange.stats()
        sends = _sent(orange, texts)
        views = final_views(gateway, [r["id"] for r in requests_], STATUS_SECONDS)
    refused = after["rejected_53"] - before["rejected_53"]
    return {
        **unit_figures(sends),
        "settled": settled,
        "rejected_53": refused,
        "refused_share": round(refused / (len(sends) + refused), 4) if sends else None,
        "duplicate_sends": after["duplicate_sends"] - before["duplicate_sends"],
        "all_delivered": all(v and v["status"] == "delivered" for v in views.values()),
    }


def _sent(orange: OrangeSimulator, texts: set[str]) -> list[tuple[float, int]]:
    """The simulator's sends of these texts: when, and their segments as it counts them."""
    return [(s.time, count_segments(s.text)) for s in orange.sends() if s.text in texts]


def _bill_per_segment(stack: LocalStack, account: str) -> None:
    """Tell the simulator what the gateway was told: the local stack gives each gateway account
    a client of the simulator's, whose id is in the account's credentials secret."""
    environment = next(
        f.environment for f in stack.functions if "ORANGE_CREDENTIALS_SECRET" in f.environment
    )
    secret = OrangeConfig.model_validate(dict(environment)).account(account).credentials_secret
    value = stack.clients.secretsmanager().get_secret_value(SecretId=secret)["SecretString"]
    stack.simulator(OrangeSimulator).set_segment_billed(json.loads(value)["client_id"])


def mixed_requests(tag: str, route: Route, count: int) -> list[dict[str, Any]]:
    """`count` SMS through `route`, a `TWO_PART_SHARE` of them 2-part, in the model's order
    (`request_costs`); each text carries its id, as in `sms_requests`."""
    requests = []
    for index, segments in enumerate(request_costs(count, TWO_PART_SHARE, MIX_SEED)):
        message_id = f"{tag}-{index}"
        text = f"bench {message_id} "
        requests.append(
            {
                "id": message_id,
                "channel": "sms",
                "to": route.number(index),
                "text": text.ljust(TWO_PART_LENGTH, ".") if segments == 2 else text.strip(),
            }
        )
    return requests


def unit_figures(sends: Sequence[tuple[float, int]]) -> dict[str, Any]:
    """One account's sends (time, units as the carrier counts them): the units a second from
    the first send to the last (the last one's units excluded) against the cap, and the most
    units in any sliding second."""
    ordered = sorted(sends)
    if len(ordered) < 2:
        return {"sends": len(ordered)}
    times = [at for at, _ in ordered]
    span = times[-1] - times[0]
    rate = sum(units for _, units in ordered[:-1]) / span
    fullest = max(
        sum(units for _, units in ordered[index : bisect.bisect_left(times, at + WINDOW_SECONDS)])
        for index, at in enumerate(times)
    )
    return {
        "sends": len(ordered),
        "units": sum(units for _, units in ordered),
        "span_seconds": round(span, 2),
        "units_per_second": round(rate, 3),
        "ratio_to_unit_cap": round(rate / CAP_PER_SECOND, 3),
        "max_units_in_any_1s_window": fullest,
    }
