"""The cap used under a real network (issue 15, point 2): on the local stack, with the Orange
simulator adding 60 ms +- 25 ms each way (1 % of trips 300 ms slower), a backlog on one account
and then one on each of two accounts at once, sent with the arrival pacer (`OrangePacing`
`answers`, the default) and with the rate slots alone (`slots`, the fixed 4 % margin of
before), in the same run. Beside them, the pacing model (`bench/pacing_model.py`) for the same
network: the pacer, the slots, and an oracle that knows every arrival (the bound)."""

import logging
from typing import Any

from bench.local import CIV, MALI_ACCOUNT, MLI, local_stack
from bench.pacing_model import simulate
from bench.sender_throughput import measure_throughput, warm_up
from infra.simulators._network import NetworkDelay

logger = logging.getLogger("bench.cap_under_jitter")
GOAL_RATIO = 0.97
GOAL_REFUSED_SHARE = 0.005
MODEL_SENDS = 20_000


def run(quick: bool) -> dict[str, Any]:
    network = NetworkDelay.realistic()
    backlog = 150 if quick else 600
    measured = {pacing: _measure(pacing, network, backlog) for pacing in ("answers", "slots")}
    model = {
        policy: _model_figures(policy, network, margin)
        # The oracle without slots: the most any sender could get through this network.
        for policy, margin in (("answers", 0.04), ("slots", 0.04), ("oracle", 0.0))
    }
    return {
        "network": f"{network.mean_ms:g} ms +- {network.jitter_ms:g} ms each way, "
        f"{network.slow_share:.0%} of trips {network.slow_extra_ms:g} ms more",
        "backlog_per_account": backlog,
        "measured": measured,
        "model": model,
        "goals": {"ratio_to_cap": GOAL_RATIO, "refused_share": GOAL_REFUSED_SHARE},
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


def _model_figures(policy: Any, network: NetworkDelay, margin: float) -> dict[str, Any]:
    result = simulate(policy, network, sends=MODEL_SENDS, margin=margin)
    return {
        "sends": result.sends,
        "slot_margin": margin,
        "ratio_to_cap": round(result.ratio_to_cap, 3),
        "refused_share": round(result.refused_share, 4),
    }
