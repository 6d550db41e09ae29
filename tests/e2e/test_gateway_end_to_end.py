"""The whole gateway on the local stack: SMS in on the queue, out through the Orange
simulator, receipts back through the API front, statuses read through the status API."""

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cgw import cli
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack
from infra.simulators.orange import FaultPlan, OrangeSimulator
from tests.e2e.support import local_stack, logged_secrets, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(
        tmp_path_factory,
        "sms",
        visibility_timeout=3,
        parameter_overrides={"OrangeCountryAccounts": "MLI=mali"},
    ) as running:
        yield running


def final_statuses(
    gateway: GatewayClient, expected: dict[str, str], timeout: float = 60.0
) -> dict[str, Any]:
    views: dict[str, Any] = {}

    def reached() -> bool:
        for message_id in expected:
            views[message_id] = gateway.status(message_id)
        return all(v is not None and v["status"] == expected[k] for k, v in views.items())

    wait_for(reached, f"statuses {expected}", timeout=timeout)
    return views


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def sms(message_id: str, to: str, **fields: Any) -> dict[str, Any]:
    return {"id": message_id, "channel": "sms", "to": to, "text": "Hello!", **fields}


def test_each_kind_of_sms_ends_in_its_expected_state(
    gateway: GatewayClient, orange: OrangeSimulator
) -> None:
    ids = {
        name: new_id(name) for name in ("plain", "named", "onnet", "undeliv", "unapproved", "bad")
    }
    gateway.send(
        [
            sms(ids["plain"], "+2250700000001"),
            sms(ids["named"], "+221771234567", senderName="MonService"),
            sms(ids["onnet"], "+22370000001", onNet=True),
            sms(ids["undeliv"], "+2250700000099"),
            sms(ids["unapproved"], "+2250700000002", senderName="NotApproved"),
            {
                "id": ids["bad"],
                "channel": "sms",
                "to": "+2250700000003",
                "text": "x",
                "colour": "red",
            },
        ]
    )
    views = final_statuses(
        gateway,
        {
            ids["plain"]: "delivered",
            ids["named"]: "delivered",
            ids["onnet"]: "delivered",
            ids["undeliv"]: "undelivered",
            ids["unapproved"]: "rejected",
            ids["bad"]: "failed",
        },
    )
    plain = views[ids["plain"]]
    assert [h["status"] for h in plain["history"]] == ["accepted", "submitted", "sent", "delivered"]
    assert plain["providerStatus"] == "DeliveredToTerminal"
    assert plain["providerMessageId"] in {s.resource_id for s in orange.sends()}
    assert views[ids["bad"]]["reason"] == "invalid request: colour: unknown field"
    assert "senderName" in views[ids["unapproved"]]["reason"]
    onnet = [s for s in orange.sends() if s.recipient == "+22370000001"]
    assert onnet
    assert onnet[-1].on_net
    # Mali goes through its own Orange account, with its own credentials and token.
    plain_send = next(s for s in orange.sends() if s.resource_id == plain["providerMessageId"])
    assert onnet[-1].account.startswith("mali-")
    assert plain_send.account != onnet[-1].account


def status_events(stack: LocalStack, message_id: str, seen: list[dict[str, Any]]) -> None:
    """Add the MessageStatusChanged events for `message_id` on the events queue to `seen`."""
    sqs = stack.clients.sqs()
    queue = stack.endpoints["events_queue_url"]
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            event = json.loads(message["Body"])
            if event["detail-type"] == "MessageStatusChanged" and (
                event["detail"]["id"] == message_id
            ):
                seen.append(event["detail"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def test_every_status_change_is_one_event_on_the_bus(
    stack: LocalStack, gateway: GatewayClient
) -> None:
    message_id = new_id("events")
    gateway.send([sms(message_id, "+2250700000001", metadata={"order": 42})])
    [view] = final_statuses(gateway, {message_id: "delivered"}).values()
    seen: list[dict[str, Any]] = []

    def all_changes() -> bool:
        status_events(stack, message_id, seen)
        return any(e["status"] == "delivered" for e in seen)

    wait_for(all_changes, "the delivered event")
    # Nothing more comes: each change is published once.
    time.sleep(2)
    status_events(stack, message_id, seen)
    transitions = [(e["previousStatus"], e["status"], e["providerStatus"]) for e in seen]
    statuses = [h["status"] for h in view["history"]]
    assert [t[1] for t in transitions] == statuses
    assert [t[0] for t in transitions] == [None, *statuses[:-1]]
    assert transitions[-1][2] == "DeliveredToTerminal"
    assert len({e["changeId"] for e in seen}) == len(seen)
    assert all(e["metadata"] == {"order": 42} for e in seen)
    assert seen[-1]["providerMessageId"] == view["providerMessageId"]


def test_the_same_id_twice_is_sent_once(gateway: GatewayClient, orange: OrangeSimulator) -> None:
    message_id = new_id("twice")
    request = sms(message_id, "+2250700000011", text=f"only once {message_id}")
    gateway.send([request, request])
    final_statuses(gateway, {message_id: "delivered"})
    assert [s.text for s in orange.sends()].count(f"only once {message_id}") == 1


def test_unknown_messages_are_404(gateway: GatewayClient) -> None:
    assert gateway.status("never-sent") is None


def test_messages_posted_over_http_are_answered_at_once_and_delivered(
    gateway: GatewayClient, orange: OrangeSimulator
) -> None:
    good, fixed_line = new_id("http"), new_id("http-landline")
    status, answer = gateway.submit(
        [
            sms(good, "+2250700000001", text=f"over HTTP {good}"),
            sms(fixed_line, "+2252720212223"),
            {"channel": "sms", "to": "+2250700000001", "text": "no id given"},
        ]
    )

    assert status == 207
    first, refused, unnamed = answer["messages"]
    assert (first["id"], first["status"]) == (good, "accepted")
    assert (refused["id"], refused["status"]) == (fixed_line, "refused")
    assert "FIXED_LINE" in refused["error"]
    assert unnamed["status"] == "accepted"
    assert unnamed["id"].startswith("api-")
    # statusUrl works as given (the stage in front, as on AWS).
    assert requests.get(first["statusUrl"], timeout=10).json()["id"] == good
    assert gateway.status(fixed_line) is None  # refused: nothing recorded
    assert gateway.submit([sms(good, "+2250700000001")]) == (
        202,
        {"id": good, "status": "accepted", "statusUrl": first["statusUrl"], "duplicate": True},
    )
    final_statuses(gateway, {good: "delivered", unnamed["id"]: "delivered"})
    assert [s.text for s in orange.sends()].count(f"over HTTP {good}") == 1


def test_receipts_are_stored_first_then_checked_and_the_token_is_never_logged(
    stack: LocalStack,
) -> None:
    """The route answers every POST 200 (API Gateway put it on ReceiptQueue); the receipts
    function then drops a wrong token and a malformed body, and keeps a good receipt whose
    send is not recorded yet."""
    good_url = stack.endpoints["orange_dr_url"]
    bad_url = good_url.rsplit("/", 1)[0] + "/not-the-token"
    ref = f"unknown-ref-{uuid.uuid4()}"
    receipt = json.dumps(
        {
            "deliveryInfoNotification": {
                "callbackData": ref,
                "deliveryInfo": {
                    "address": "tel:+2250700000001",
                    "deliveryStatus": "DeliveredToTerminal",
                },
            }
        }
    )
    headers = {"Content-Type": "application/json"}
    for url, body in ((bad_url, receipt), (good_url, "{oops"), (good_url, receipt)):
        assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200

    def logs() -> str:
        return "".join(p.read_text() for p in Path(stack.logs_dir).glob("*.log"))

    def kept() -> bool:
        answer = stack.clients.dynamodb().query(
            TableName=stack.endpoints["table_name"],
            KeyConditionExpression="pk = :pk AND begins_with(sk, :early)",
            ExpressionAttributeValues={
                ":pk": {"S": f"REF#orange#{ref}"},
                ":early": {"S": "EARLY#"},
            },
        )
        return answer["Count"] == 1

    wait_for(kept, "the good receipt to be kept for its send")
    wait_for(
        lambda: '"receipt refused"' in logs() and '"malformed receipt"' in logs(),
        "the receipts function to drop the wrong token and the malformed body",
    )
    assert good_url.rsplit("/", 1)[1] not in logs()


def test_a_sender_killed_after_orange_accepted_is_not_resent(
    stack: LocalStack, gateway: GatewayClient, orange: OrangeSimulator
) -> None:
    """Fault injection: the dispatcher dies between Orange's 201 and the state write. The claim
    keeps the message from a second send; the sweep ends it unknown once the claim ran out."""
    message_id = new_id("killed")
    text = f"killed mid-send {message_id}"
    orange.set_faults(FaultPlan(timeout=1.0, timeout_seconds=8))
    gateway.send([sms(message_id, "+2250700000012", text=text)])
    wait_for(lambda: any(s.text == text for s in orange.sends()), "Orange to accept the SMS")
    wait_for(lambda: stack.kill_in_flight("DispatcherFunction") > 0, "the dispatcher to be killed")
    orange.set_faults(None)
    # Every dispatcher in flight was killed (another lane's, lingering, too): their leases
    # would run out after DISPATCH_LEASE_SECONDS; here at once, so that the module's other
    # tests need not wait for them.
    for lane in ("orange-sms:default", "orange-sms:mali", "mms", "orange-pl-mms"):
        stack.clients.dynamodb().delete_item(
            TableName=stack.endpoints["table_name"],
            Key={"pk": {"S": f"LOCK#dispatch#{lane}"}, "sk": {"S": "LOCK"}},
        )
    # The claim's 40 s, then the sweep (every 5 minutes, 30 s on the local stack).
    view = final_statuses(gateway, {message_id: "unknown"}, timeout=150)[message_id]
    assert view["reason"] == "outcome of send unknown: the sender died mid-send"
    assert [s.text for s in orange.sends()].count(text) == 1


def test_endpoints_file_is_written_for_the_cli(stack: LocalStack) -> None:
    written = json.loads(Path(stack.endpoints_path).read_text())
    for key in (
        "api_url",
        "aws_endpoint_url",
        "region",
        "send_queue_url",
        "table_name",
        "orange_dr_url",
    ):
        assert written[key]


def test_the_hourly_balance_snapshot_records_each_country(stack: LocalStack) -> None:
    [run] = stack.run_schedule("BalanceSnapshotFunction")
    assert run.error is None
    items = stack.clients.dynamodb().query(
        TableName=stack.endpoints["table_name"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :latest)",
        ExpressionAttributeValues={":pk": {"S": "ACCOUNT#default"}, ":latest": {"S": "LATEST#"}},
    )["Items"]
    latest = {i["country"]["S"]: int(i["units"]["N"]) for i in items}
    assert "CIV" in latest
    assert 0 < latest["CIV"] < 1000  # the simulator's 1,000 units, less what the tests sent


def test_the_cli_sends_reads_statuses_and_balances(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    local_dir = ["--local-dir", str(stack.options.state_dir), "--json"]
    message_id = new_id("cli")
    request = json.dumps(sms(message_id, "+2250700000021"))
    assert cli.main([*local_dir, "send", request]) == 0
    assert json.loads(capsys.readouterr().out) == {"queued": 1, "ids": [message_id]}

    def delivered() -> bool:
        cli.main([*local_dir, "status", message_id])
        output = capsys.readouterr().out
        return bool(output) and json.loads(output)["status"] == "delivered"

    wait_for(delivered, "the CLI to show the message delivered")
    assert cli.main([*local_dir, "status", "never-sent"]) == 1
    assert cli.main([*local_dir, "balance"]) == 0
    countries = {row["country"] for row in json.loads(capsys.readouterr().out)}
    assert "CIV" in countries


def test_the_cli_shows_and_manages_the_receipt_subscriptions(
    stack: LocalStack,
    gateway: GatewayClient,
    orange: OrangeSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The stack subscribed each account at start-up; by hand, a new Mali subscription
    supersedes it, the superseded one can go, and Mali's receipts keep arriving."""
    command = ["--local-dir", str(stack.options.state_dir), "--json", "orange-subscription"]
    token = stack.endpoints["orange_dr_url"].rsplit("/", 1)[1]

    def run(*args: str) -> tuple[int, Any]:
        code = cli.main([*command, *args])
        out = capsys.readouterr().out
        assert token not in out
        return code, json.loads(out)

    code, shown = run("show")
    assert code == 0
    assert [(row["account"], row["isReceiptUrl"]) for row in shown] == [
        ("default", True),
        ("mali", True),
    ]
    first = run("create", "--account", "mali")[1]["subscriptions"][0]["ref"]
    second = run("create", "--account", "mali")[1]["subscriptions"][0]["ref"]
    assert run("delete", first) == (0, {first: "deleted"})
    code, [gone] = run("show", first)
    assert (code, gone["found"]) == (1, False)
    [active] = [s for s in orange.subscriptions() if s.active and s.account.startswith("mali-")]
    assert second.endswith(active.subscription_id)

    message_id = new_id("mali-receipts")
    gateway.send([sms(message_id, "+22370000031")])
    final_statuses(gateway, {message_id: "delivered"})


def test_no_secret_token_password_or_full_number_reaches_a_log(stack: LocalStack) -> None:
    """Runs last in this module: every function's log of everything above, searched for the
    values that must never be logged."""
    assert logged_secrets(stack) == []
