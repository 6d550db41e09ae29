"""`cgw watch` and `cgw resend` on the local stack: a watch that ends 1 on a message whose
outcome is unknown, its resend (a new id, `resendOf` in the status view and the events)
delivered and sent once however often the command is run, and a delivered message refused."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cgw import cli
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack
from infra.simulators.orange import FaultPlan, OrangeSimulator
from tests.e2e.support import local_stack, wait_for
from tests.e2e.test_gateway_end_to_end import final_statuses, sms, status_events

pytestmark = pytest.mark.e2e

WATCH = ["watch", "--interval", "0.5", "--timeout", "60"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(tmp_path_factory, "watch", visibility_timeout=3) as running:
        yield running


def cgw(stack: LocalStack, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """`cgw --json ARGS` on the stack: the exit code and the last JSON line printed."""
    code = cli.main(["--local-dir", str(stack.options.state_dir), "--json", *args])
    return code, json.loads(capsys.readouterr().out.splitlines()[-1])


def test_a_watch_ends_1_on_an_unknown_outcome_and_its_resend_is_delivered_once(
    stack: LocalStack,
    gateway: GatewayClient,
    orange: OrangeSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = uuid.uuid4().hex[:6]
    campaign, lost, text = f"watch-{run}", f"lost-{run}", f"resend me {run}"
    fine = [f"fine-{n}-{run}" for n in range(2)]
    # Orange answers 500: the SMS may have gone, so the gateway ends it unknown, never resent.
    orange.set_faults(FaultPlan(http_500=1.0))
    gateway.send([sms(lost, "+2250700000031", text=text, campaign=campaign)])
    final_statuses(gateway, {lost: "unknown"})
    orange.set_faults(None)
    gateway.send([sms(message_id, "+2250700000032", campaign=campaign) for message_id in fine])

    code, summary = cgw(stack, capsys, *WATCH, lost, *fine)
    assert (code, summary["event"], summary["timedOut"]) == (1, "summary", False)
    assert summary["counts"] == {"delivered": 2, "unknown": 1}
    [not_delivered] = summary["notDelivered"]
    assert (not_delivered["id"], not_delivered["status"]) == (lost, "unknown")
    assert not_delivered["reason"].startswith("outcome of send unknown")

    resend = f"{lost}.r1"
    code, outcome = cgw(stack, capsys, "resend", lost, fine[0])
    assert code == 1
    assert outcome == {
        "resent": [{"id": lost, "resend": resend}],
        "refused": [{"id": fine[0], "reason": "delivered"}],
    }
    # At once again: the same id (the gateway sends it once), or refused once it is recorded.
    _, again = cgw(stack, capsys, "resend", lost)
    assert again["resent"] in ([], [{"id": lost, "resend": resend}])

    code, summary = cgw(stack, capsys, *WATCH, resend)
    assert (code, summary["counts"]) == (0, {"delivered": 1})
    view = gateway.status(resend)
    assert view is not None
    assert (view["resendOf"], view["campaign"]) == (lost, campaign)
    assert [s.text for s in orange.sends()].count(text) == 1
    assert resend_events_carry_the_link(stack, resend, lost)

    # The campaign: the original still unknown, its resend delivered, so nothing is resent.
    code, summary = cgw(stack, capsys, *WATCH, "--campaign", campaign)
    assert (code, summary["counts"]) == (1, {"delivered": 3, "unknown": 1})
    assert cgw(stack, capsys, "resend", "--campaign", campaign) == (
        0,
        {"resent": [], "refused": []},
    )
    assert cgw(stack, capsys, "resend", lost) == (
        1,
        {"resent": [], "refused": [{"id": lost, "reason": f"delivered as {resend}"}]},
    )


def resend_events_carry_the_link(stack: LocalStack, resend: str, original: str) -> bool:
    seen: list[dict[str, Any]] = []

    def delivered() -> bool:
        status_events(stack, resend, seen)
        return any(e["status"] == "delivered" for e in seen)

    wait_for(delivered, "the resend's delivered event")
    return all(e["resendOf"] == original for e in seen)
