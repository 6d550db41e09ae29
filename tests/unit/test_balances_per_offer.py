"""A country's two offers (SMS_OCB, and SMS_OCB2 for on-net SMS) keep their own balance
snapshots, each send is held by the bundle of the offer it would use, and the purchase
orders read with the balances are kept."""

from datetime import UTC, datetime

import pytest

from gateway.aws.balance_store import BalanceRepository
from gateway.aws.dynamo import to_item
from gateway.aws.locks import LeaseLock
from gateway.orange.admin import AccountReport, ContractBalance, Purchase
from gateway.orange.balance import BalanceSnapshots
from gateway.orange.holds import AccountHolds
from gateway.orange.tokens import TokenStore
from tests.fakes import FakeOrange, MemorySecrets

pytestmark = pytest.mark.usefixtures("aws")

TAKEN = "2026-11-22T05:00:00Z"
ACTIVE = {"status": "ACTIVE", "expires": "2099-01-01T00:00:00Z"}
NOW = datetime(2026, 11, 22, 6, tzinfo=UTC)


def contract(offer: str, units: int) -> ContractBalance:
    return ContractBalance("CIV", units, "ACTIVE", "2099-01-01T00:00:00.000Z", offer)


PURCHASE = Purchase(
    id="6391fcf45b1130",
    country="CIV",
    offer="SMS_OCB",
    purchase_date="2022-12-08T15:04:20.664Z",
    bundle_id="6368b9b35455a62e00d9997d",
    bundle_description="Bundle 1 - 100 SMS for 1 600 FCFA (for 30 days)",
    price="1600",
    currency="XOF",
)


class FakeAdmin:
    def __init__(self, report: AccountReport) -> None:
        self.answer = report

    def report(self, token: str, country: str | None = None) -> AccountReport:
        return self.answer


def snapshots(repo: BalanceRepository, report: AccountReport) -> int:
    """The hourly snapshot of the `default` account, Orange's admin answering `report`."""
    secrets = MemorySecrets({"creds": {"client_id": "id", "client_secret": "secret"}})
    tokens = TokenStore(
        token_secret="token",
        credentials_secret="creds",
        fetch=lambda c: FakeOrange().fetch_token(c.client_id, c.client_secret),
        lock=LeaseLock("messages", "token#default"),
        secrets=secrets,  # type: ignore[arg-type]
    )
    admin = FakeAdmin(report)
    balances = BalanceSnapshots(admin=admin, repository=repo)  # type: ignore[arg-type]
    return balances.snapshot("default", tokens)


def test_two_offers_in_one_country_keep_their_own_latest_snapshot() -> None:
    """They were keyed by country only: whichever was written last stood for both."""
    repo = BalanceRepository("messages")
    report = AccountReport(
        contracts=[contract("SMS_OCB", 0), contract("SMS_OCB2", 500)],
        usage={("CIV", "SMS_OCB"): 120, ("CIV", "SMS_OCB2"): 7},
        purchases=[],
    )
    assert snapshots(repo, report) == 2
    standard = repo.latest_for("default", "CIV", "SMS_OCB")
    on_net = repo.latest_for("default", "CIV", "SMS_OCB2")
    assert standard is not None
    assert on_net is not None
    assert (standard["units"], standard["used"]) == (0, 120)
    assert (on_net["units"], on_net["used"]) == (500, 7)
    assert sorted((row["offer"], row["units"]) for row in repo.latest("default")) == [
        ("SMS_OCB", 0),
        ("SMS_OCB2", 500),
    ]


def test_a_copy_kept_per_country_only_before_offers_is_not_shown_as_the_latest() -> None:
    repo = BalanceRepository("messages")
    stale = {"pk": "ACCOUNT#default", "sk": "LATEST#CIV", "country": "CIV", "offer": "SMS_OCB"}
    repo._client.put_item(TableName="messages", Item=to_item({**stale, "units": 0}))
    repo.put_snapshot("default", "CIV", "SMS_OCB", TAKEN, {"units": 900, **ACTIVE})
    assert [row["units"] for row in repo.latest("default")] == [900]


@pytest.mark.parametrize(("empty", "on_net"), [("SMS_OCB2", True), ("SMS_OCB", False)])
def test_a_send_is_held_only_by_the_bundle_of_the_offer_it_would_use(
    empty: str, on_net: bool
) -> None:
    """An on-net send uses SMS_OCB2 (`resource_type_parameter_management=SMS_OCB2`), any other
    SMS_OCB: an empty on-net bundle holds on-net sends only, and the other way round."""
    repo = BalanceRepository("messages")
    for offer in ("SMS_OCB", "SMS_OCB2"):
        repo.put_snapshot("default", "CIV", offer, TAKEN, {"units": 500, **ACTIVE})
    repo.put_snapshot("default", "CIV", empty, TAKEN, {"units": 0, **ACTIVE})
    holds = AccountHolds(repo, now=lambda: NOW)
    assert holds.reason("default", "CIV", on_net=on_net) == (
        f"no units left in the bundle ({empty}, balance snapshot of {TAKEN})"
    )
    assert holds.reason("default", "CIV", on_net=not on_net) is None


def test_purchase_orders_are_kept_with_date_bundle_price_and_currency() -> None:
    """They were fetched every hour and dropped."""
    repo = BalanceRepository("messages")
    report = AccountReport(contracts=[contract("SMS_OCB", 120)], usage={}, purchases=[PURCHASE])
    snapshots(repo, report)
    snapshots(repo, report)  # read again the next hour: still one order
    [kept] = repo.purchases("default")
    assert {
        key: kept[key]
        for key in ("country", "offer", "purchaseDate", "bundleDescription", "price", "currency")
    } == {
        "country": "CIV",
        "offer": "SMS_OCB",
        "purchaseDate": "2022-12-08T15:04:20.664Z",
        "bundleDescription": "Bundle 1 - 100 SMS for 1 600 FCFA (for 30 days)",
        "price": "1600",
        "currency": "XOF",
    }
    assert repo.latest("default")[0]["units"] == 120  # not among the balances
