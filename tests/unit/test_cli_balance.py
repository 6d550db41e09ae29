"""`cgw balance` against a deployed stack (moto): the latest balance per country and offer,
as before, and with `--purchases` the bundles bought."""

import json

import boto3
import pytest

from cgw import cli
from gateway.aws.balance_store import BalanceRepository

STACK = ["--stack", "gw"]
TAKEN = "2026-11-22T05:00:00Z"
PURCHASE = {
    "id": "6391fcf45b1130",
    "country": "CIV",
    "offer": "SMS_OCB",
    "purchaseDate": "2022-12-08T15:04:20.664Z",
    "bundleId": "6368b9b35455a62e00d9997d",
    "bundleDescription": "Bundle 1 - 100 SMS for 1 600 FCFA (for 30 days)",
    "price": "1600",
    "currency": "XOF",
}


@pytest.fixture
def balances(aws: None) -> BalanceRepository:
    """A deployed stack whose table holds a snapshot of CIV's two offers and one purchase."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ApiUrl": {"Value": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"},
            "SendQueueUrl": {"Value": "https://sqs.eu-west-1.amazonaws.com/1/q"},
            "TableName": {"Value": "messages"},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="gw", TemplateBody=json.dumps(template))
    repo = BalanceRepository("messages")
    active = {"status": "ACTIVE", "expires": "2099-01-01T00:00:00.000Z", "used": 3}
    repo.put_snapshot("default", "CIV", "SMS_OCB", TAKEN, {"units": 120, **active})
    repo.put_snapshot("default", "CIV", "SMS_OCB2", TAKEN, {"units": 0, **active})
    repo.put_purchases("default", TAKEN, [PURCHASE])
    return repo


def test_balance_lists_each_offer_of_a_country(
    balances: BalanceRepository, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*STACK, "--json", "balance"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted((r["country"], r["offer"], r["units"]) for r in rows) == [
        ("CIV", "SMS_OCB", 120),
        ("CIV", "SMS_OCB2", 0),
    ]

    assert cli.main([*STACK, "balance"]) == 0
    table = capsys.readouterr().out
    assert "SMS_OCB2" in table
    assert "bought" not in table  # the purchases only when asked for


def test_balance_with_purchases_shows_date_bundle_price_and_currency(
    balances: BalanceRepository, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*STACK, "--json", "balance", "--purchases"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["balances"]) == 2
    [order] = shown["purchases"]
    assert {key: order[key] for key in PURCHASE} == PURCHASE

    assert cli.main([*STACK, "balance", "--purchases"]) == 0
    table = capsys.readouterr().out
    assert "Orange SMS bundles bought" in table
    for text in ("2022-12-08T15:04:20.664Z", "Bundle 1 - 100 SMS", "1600", "XOF"):
        assert text in table


def test_no_snapshot_yet_is_said_and_fails(
    aws: None, balances: BalanceRepository, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*STACK, "balance", "--account", "mali", "--purchases"]) == 1
    assert "no balance snapshot yet" in capsys.readouterr().out
