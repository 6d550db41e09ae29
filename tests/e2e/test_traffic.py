"""Traffic on the whole local stack: two Orange accounts (Côte d'Ivoire through `default`, Mali
through `mali`), a bulk backlog on one, and high and normal messages queued behind it.

The order of sends is the Orange simulator's record: no timing is asserted, only who went
before whom at the account's 5 SMS/s."""

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cgw import cli
from cgw.gateway_client import GatewayClient
from gateway.core.model import utc_now, utc_text
from infra.local.stack import LocalStack
from infra.simulators.orange import OrangeSimulator
from tests.e2e.support import local_stack, wait_for

pytestmark = pytest.mark.e2e
BULK = 40


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(
        tmp_path_factory, "traffic", parameter_overrides={"OrangeCountryAccounts": "MLI=mali"}
    ) as running:
        yield running


def sms(tag: str, n: int, to: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{tag}-{n}",
        "channel": "sms",
        "to": to,
        "text": f"{tag} {n}",
        **fields,
    }


def test_high_goes_ahead_of_a_bulk_backlog_and_another_account_waits_for_nothing(
    stack: LocalStack, gateway: GatewayClient
) -> None:
    orange = stack.simulator(OrangeSimulator)
    run = uuid.uuid4().hex[:6]
    bulk = [
        sms(f"bulk{run}", n, f"+22507{n:08d}", priority="bulk", campaign=f"c{run}")
        for n in range(BULK)
    ]
    gateway.send(bulk)
    wait_for(
        lambda: sum(s.text.startswith(f"bulk{run}") for s in orange.sends()) >= 3,
        "the bulk backlog to start",
    )
    gateway.send([sms(f"high{run}", n, f"+22508{n:08d}", priority="high") for n in range(3)])
    gateway.send([sms(f"mali{run}", n, f"+22370{n:06d}") for n in range(3)])

    def texts() -> list[str]:
        return [s.text for s in orange.sends() if run in s.text]

    wait_for(lambda: len(texts()) == BULK + 6, "every SMS to reach Orange", timeout=120)
    order = texts()
    civ = [t for t in order if not t.startswith("mali")]
    # The three high SMS were queued behind the backlog and went within a few slots of it.
    first_high = min(civ.index(f"high{run} {n}") for n in range(3))
    last_high = max(civ.index(f"high{run} {n}") for n in range(3))
    assert last_high - first_high <= 4, civ
    assert last_high < BULK // 2, civ  # well ahead of the backlog's end
    # Mali's SMS went through Mali's account at once, not after Côte d'Ivoire's backlog.
    sends = orange.sends()
    last_mali = max(s.time for s in sends if s.text.startswith(f"mali{run}"))
    last_bulk = max(s.time for s in sends if s.text.startswith(f"bulk{run}"))
    assert last_mali < last_bulk - 2
    mali_accounts = {s.account for s in sends if s.text.startswith(f"mali{run}")}
    civ_accounts = {s.account for s in sends if s.text.startswith(f"bulk{run}")}
    assert len(mali_accounts) == 1
    assert mali_accounts.isdisjoint(civ_accounts)
    view = gateway.status(f"bulk{run}-0")
    assert view is not None
    assert (view["priority"], view["campaign"]) == ("bulk", f"c{run}")


def test_a_scheduled_sms_waits_for_its_time(stack: LocalStack, gateway: GatewayClient) -> None:
    orange = stack.simulator(OrangeSimulator)
    message_id = f"later-{uuid.uuid4().hex[:6]}"
    send_at = utc_now(after=timedelta(seconds=8))
    gateway.send([{**sms(message_id, 0, "+2250799999999"), "sendAt": send_at}])
    wait_for(lambda: gateway.status(f"{message_id}-0") is not None, "the SMS to be recorded")
    view = gateway.status(f"{message_id}-0")
    assert view is not None
    assert (view["status"], view["sendAt"]) == ("accepted", send_at)
    wait_for(
        lambda: any(s.text == f"{message_id} 0" for s in orange.sends()),
        "the scheduled SMS to reach Orange",
        timeout=60,
    )
    [sent] = [s for s in orange.sends() if s.text == f"{message_id} 0"]
    assert utc_now_from_epoch(sent.time) >= send_at


def test_an_expired_sms_is_never_sent(stack: LocalStack, gateway: GatewayClient) -> None:
    orange = stack.simulator(OrangeSimulator)
    message_id = f"stale-{uuid.uuid4().hex[:6]}"
    # Due after its validity ran out: it must end expired, unsent.
    send_at = utc_now(after=timedelta(seconds=3))
    gateway.send([{**sms(message_id, 0, "+2250799999998"), "sendAt": send_at, "validFor": 1}])
    wait_for(
        lambda: (gateway.status(f"{message_id}-0") or {}).get("status") == "expired",
        "the SMS to expire",
        timeout=60,
    )
    assert not any(s.text == f"{message_id} 0" for s in orange.sends())


def utc_now_from_epoch(epoch: float) -> str:
    return utc_text(datetime.fromtimestamp(epoch, UTC))


def test_a_message_cancelled_through_the_api_is_never_sent(
    stack: LocalStack, gateway: GatewayClient
) -> None:
    orange = stack.simulator(OrangeSimulator)
    message_id = f"cancel-{uuid.uuid4().hex[:6]}-0"
    send_at = utc_now(after=timedelta(seconds=6))
    gateway.send([{**sms(message_id.rsplit("-", 1)[0], 0, "+2250799999997"), "sendAt": send_at}])
    wait_for(lambda: gateway.status(message_id) is not None, "the SMS to be recorded")
    assert gateway.cancel(message_id) == (200, {"id": message_id, "status": "cancelled"})
    code, answer = gateway.cancel(message_id)
    assert (code, answer["status"]) == (409, "cancelled")
    assert gateway.cancel("never-queued")[0] == 404
    wait_for(lambda: utc_now() > send_at, "its sendAt to pass")
    time.sleep(3)
    assert not any(s.text.startswith(message_id.rsplit("-", 1)[0]) for s in orange.sends())


def test_a_cancelled_campaign_sends_nothing_after_the_command_returns(
    stack: LocalStack, gateway: GatewayClient, capsys: pytest.CaptureFixture[str]
) -> None:
    orange = stack.simulator(OrangeSimulator)
    run = uuid.uuid4().hex[:6]
    campaign = f"promo{run}"
    gateway.send(
        [
            sms(f"promo{run}", n, f"+22505{n:08d}", priority="bulk", campaign=campaign)
            for n in range(BULK)
        ]
    )

    def sent() -> int:
        return sum(s.text.startswith(f"promo{run}") for s in orange.sends())

    wait_for(lambda: sent() >= 3, "the campaign to start")
    # Every message recorded first, so the command's count is the campaign's (one still on the
    # send queue would be cancelled by the intake, after the command: a unit test covers it).
    wait_for(
        lambda: all(gateway.status(f"promo{run}-{n}") is not None for n in range(BULK)),
        "the campaign to be recorded",
    )
    local_dir = ["--local-dir", str(stack.options.state_dir), "--json"]
    assert cli.main([*local_dir, "cancel", "--campaign", campaign]) == 0
    summary = json.loads(capsys.readouterr().out)
    sent_when_returned = sent()
    assert summary["cancelled"] > 0
    assert summary["cancelled"] + sum(summary["too_late"].values()) == BULK
    time.sleep(3)  # several of the account's slots
    assert sent() == sent_when_returned
    statuses = [(gateway.status(f"promo{run}-{n}") or {}).get("status") for n in range(BULK)]
    # Cancelled by the command, or by a dispatcher that claimed one after the campaign's mark
    # (the command then finds it cancelled already).
    assert statuses.count("cancelled") == summary["cancelled"] + summary["too_late"].get(
        "cancelled", 0
    )
