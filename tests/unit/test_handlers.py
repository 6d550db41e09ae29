"""The functions as Lambda calls them: sample events in, API Gateway / SQS answers out."""

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings

from functions.orange_receipts import app as receipts_app
from functions.sender import app as sender_app
from functions.status import app as status_app
from functions.sweeper import app as sweeper_app
from gateway.aws import clients as aws_clients
from gateway.aws.message_store import MessageRepository
from gateway.core.intake import Queued
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.sending import Admission, Delivery, Result
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from tests.faults import CONDITION_FAILED, THROTTLED, Outage, outage
from tests.pipeline import RecordedWakeups
from tests.support import FakeLambdaContext, LogLines, event
from tests.unit.conftest import LambdaOutput
from tests.unit.receipt_bodies import receipt_bodies

pytestmark = pytest.mark.usefixtures("aws")
TOKEN = "s3cr3t-receipt-token-0123456789"
WRONG_TOKEN = "s3cr3t-receipt-token-guessed-9876"


def stored_message(message_id: str = "order-42", ref: str = "res-1") -> Message:
    repo = MessageRepository("messages")
    message = Message.new(
        id=message_id,
        channel="sms",
        to="+2250700000001",
        update=StatusUpdate(Status.ACCEPTED, "2026-01-01T00:00:00.000Z", "gateway"),
    )
    assert repo.create(message)
    submitted = StatusUpdate(Status.SUBMITTED, "2026-01-01T00:00:01.000Z", "gateway")
    StatusTracker(repo).record_send(message, submitted, provider="orange", ref=ref)
    return message


def test_status_returns_the_design_json() -> None:
    stored_message()
    response = status_app.handler(event("api_get_message.json"), FakeLambdaContext())
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert set(body) >= {
        "id",
        "channel",
        "status",
        "providerStatus",
        "providerMessageId",
        "to",
        "createdAt",
        "updatedAt",
        "history",
    }
    assert (body["id"], body["status"], body["providerMessageId"]) == (
        "order-42",
        "submitted",
        "res-1",
    )
    assert [h["status"] for h in body["history"]] == ["accepted", "submitted"]
    assert set(body["history"][0]) >= {"status", "at", "source"}


def test_status_of_an_unknown_message_is_404() -> None:
    unknown = event(
        "api_get_message.json", rawPath="/v1/messages/nope", pathParameters={"id": "nope"}
    )
    assert status_app.handler(unknown, FakeLambdaContext())["statusCode"] == 404


def test_a_message_not_yet_sent_is_cancelled_and_a_sent_one_answers_409() -> None:
    repo = MessageRepository("messages")
    update = StatusUpdate(Status.ACCEPTED, "2026-01-01T00:00:00.000Z", "gateway")
    repo.create(Message.new(id="order-42", channel="sms", to="+2250700000001", update=update))
    cancelled = status_app.handler(event("api_cancel_message.json"), FakeLambdaContext())
    assert (cancelled["statusCode"], json.loads(cancelled["body"])) == (
        200,
        {"id": "order-42", "status": "cancelled"},
    )
    again = status_app.handler(event("api_cancel_message.json"), FakeLambdaContext())
    assert again["statusCode"] == 409
    assert json.loads(again["body"])["status"] == "cancelled"
    stored_message("sent-1")
    sent = event(
        "api_cancel_message.json", rawPath="/v1/messages/sent-1", pathParameters={"id": "sent-1"}
    )
    answer = status_app.handler(sent, FakeLambdaContext())
    assert (answer["statusCode"], json.loads(answer["body"])["status"]) == (409, "submitted")
    unknown = event(
        "api_cancel_message.json", rawPath="/v1/messages/nope", pathParameters={"id": "nope"}
    )
    assert status_app.handler(unknown, FakeLambdaContext())["statusCode"] == 404


@pytest.fixture
def receipt_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="receipt-token", SecretString=TOKEN)[
        "ARN"
    ]
    monkeypatch.setenv("RECEIPT_TOKEN_SECRET", arn)
    monkeypatch.setenv("RECEIPT_ALLOWLIST", "80.12.13.2,80.12.102.66,80.12.209.66,80.12.66.97")


def receipt_event(
    status: str = "DeliveredToTerminal",
    *,
    token: str = TOKEN,
    ip: str = "80.12.13.2",
    ref: str = "res-1",
    body: str | None = None,
) -> dict[str, Any]:
    """One receipt as API Gateway's SQS integration leaves it on ReceiptQueue."""
    sample = event("sqs_orange_receipt.json")
    [record] = sample["Records"]
    payload = json.loads(record["body"])
    payload["deliveryInfoNotification"]["callbackData"] = ref
    payload["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"] = status
    record["body"] = body if body is not None else json.dumps(payload)
    record["messageAttributes"]["token"]["stringValue"] = token
    record["messageAttributes"]["sourceIp"]["stringValue"] = ip
    return sample


def failed_records(response: dict[str, Any]) -> list[str]:
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


@pytest.mark.usefixtures("receipt_env")
def test_a_receipt_moves_the_message() -> None:
    stored_message()
    response = receipts_app.handler(receipt_event(), FakeLambdaContext())
    assert failed_records(response) == []
    message = MessageRepository("messages").get("order-42")
    assert message is not None
    assert message.status is Status.DELIVERED
    assert message.progress.provider_status == "DeliveredToTerminal"


@pytest.mark.usefixtures("receipt_env")
@pytest.mark.parametrize(
    "answer",
    [THROTTLED, CONDITION_FAILED],  # the table over its capacity; every save overtaken
    ids=["throttled", "concurrent-updates"],
)
def test_a_receipt_the_table_cannot_take_comes_back_from_the_queue_and_applies_once(
    answer: dict[str, Any],
) -> None:
    stored_message()
    receipt = receipt_event()
    with outage(aws_clients.dynamodb(), Outage("PutItem", status=400, answer=answer)):
        response = receipts_app.handler(receipt, FakeLambdaContext())
    assert failed_records(response) == [receipt["Records"][0]["messageId"]]
    message = MessageRepository("messages").get("order-42")
    assert message is not None
    assert message.status is Status.SUBMITTED

    assert failed_records(receipts_app.handler(receipt, FakeLambdaContext())) == []
    message = MessageRepository("messages").get("order-42")
    assert message is not None
    assert message.status is Status.DELIVERED
    assert [h["status"] for h in message.progress.history].count("delivered") == 1


@pytest.mark.usefixtures("receipt_env")
def test_a_receipt_before_its_send_is_kept_and_applied_later() -> None:
    response = receipts_app.handler(receipt_event(ref="res-early"), FakeLambdaContext())
    assert failed_records(response) == []
    stored_message(ref="res-early")
    message = MessageRepository("messages").get("order-42")
    assert message is not None
    assert message.status is Status.DELIVERED


@pytest.mark.usefixtures("receipt_env")
def test_a_receipt_is_logged_under_its_messages_id_without_the_number(
    log_lines: LogLines,
) -> None:
    receipts_app.handler(receipt_event(ref="res-early"), FakeLambdaContext())
    stored_message()
    receipts_app.handler(receipt_event(), FakeLambdaContext())

    early, applied = [line for line in log_lines() if line["message"] == "orange receipt"]
    assert "correlation_id" not in early  # no message has that reference yet
    assert applied["correlation_id"] == "order-42"
    assert applied["to"] == "+2250******001"
    assert "0700000001" not in json.dumps(log_lines())


@pytest.mark.usefixtures("receipt_env")
@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"token": WRONG_TOKEN}, "wrong receipt URL token"),
        # The right token from a stranger's address: dropped, and that token not logged either.
        ({"ip": "198.51.100.7"}, "source address not on the receipt allowlist"),
        ({"ip": "not-an-address"}, "source address not on the receipt allowlist"),
    ],
)
def test_receipts_from_strangers_are_dropped_and_the_secret_is_not_logged(
    kwargs: dict[str, str], reason: str, lambda_output: Callable[[], LambdaOutput]
) -> None:
    stored_message()
    response = receipts_app.handler(receipt_event(**kwargs), FakeLambdaContext())
    assert failed_records(response) == []  # dropped: no retry can make it right
    output = lambda_output()
    [refused] = output.warnings("receipt refused")
    assert refused["reason"] == reason
    assert TOKEN not in output.text
    assert WRONG_TOKEN not in output.text
    assert output.metric("CallbacksRefused") == [[1.0]]
    assert MessageRepository("messages").get("order-42").status is Status.SUBMITTED  # type: ignore[union-attr]


@pytest.mark.usefixtures("receipt_env")
def test_a_receipt_without_its_attributes_is_refused() -> None:
    receipt = receipt_event()
    receipt["Records"][0]["messageAttributes"] = {}
    stored_message()
    assert failed_records(receipts_app.handler(receipt, FakeLambdaContext())) == []
    assert MessageRepository("messages").get("order-42").status is Status.SUBMITTED  # type: ignore[union-attr]


@pytest.mark.usefixtures("receipt_env")
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "body is not JSON"),
        ('{"deliveryInfoNotification": {"callbackData": "x"}}', "deliveryInfo"),
        ("[]", "Input should be an object"),
    ],
)
def test_a_malformed_receipt_is_dropped_with_its_reason(
    body: str, reason: str, lambda_output: Callable[[], LambdaOutput]
) -> None:
    response = receipts_app.handler(receipt_event(body=body), FakeLambdaContext())
    assert failed_records(response) == []
    [malformed] = lambda_output().warnings("malformed receipt")
    assert reason in malformed["reason"]


@pytest.mark.usefixtures("receipt_env")
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=receipt_bodies())
def test_any_receipt_body_is_applied_or_dropped_never_left_failing(body: str) -> None:
    """Fuzzed bodies through the whole handler, storage included: a body that raised would come
    back from the queue until its dead-letter queue, a receipt lost after 20 useless tries."""
    receipt = receipt_event(body=body)
    assert failed_records(receipts_app.handler(receipt, FakeLambdaContext())) == []


class ScriptedIntake:
    """Queues every request in lane "a", except the ids given, whose storage fails."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing

    def admit(self, body: str, fallback_id: str) -> Admission:
        return Admission(json.loads(body).get("id") or fallback_id, "a")

    def receive(self, delivery: Delivery, admission: Admission) -> Queued:
        if admission.message_id in self.failing:
            raise aws_clients.AWS_FAILURES[0]({"Error": {"Code": "InternalServerError"}}, "PutItem")
        if admission.message_id == "later":
            return Queued(Result.QUEUED, "b", "2026-12-24T08:00:00.000Z")
        return Queued(Result.QUEUED, "a")


def test_the_intake_reports_only_records_it_could_not_store_and_wakes_their_lanes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sample = event("sqs_send_batch.json")
    extra = json.loads(json.dumps(sample["Records"][0]))
    failing = {**extra, "messageId": "q-fail", "body": json.dumps({"id": "storage-down"})}
    later = {**extra, "messageId": "q-later", "body": json.dumps({"id": "later"})}
    sample["Records"] += [failing, later]
    intake = ScriptedIntake({"storage-down"})
    wakeups = RecordedWakeups()
    monkeypatch.setattr(sender_app, "sender", lambda: intake)
    monkeypatch.setattr(sender_app, "intake", lambda: intake)
    monkeypatch.setattr(sender_app, "dispatch_queue", lambda: wakeups)
    response = sender_app.handler(sample, FakeLambdaContext())
    # The record not stored comes back from SQS; the others are in their lanes, woken once.
    assert response == {"batchItemFailures": [{"itemIdentifier": "q-fail"}]}
    assert wakeups.woken == ["a"]
    assert wakeups.timers == [("b", "2026-12-24T08:00:00.000Z")]


def test_the_sweeper_applies_stranded_receipts_then_sweeps_overdue_messages() -> None:
    repo = MessageRepository("messages")
    delivered = StatusUpdate(Status.DELIVERED, "2026-01-01T00:00:02.000Z", "orange-dr", "X")
    repo.keep_early("orange", "res-7", delivered, "2026-01-01T00:00:02.000Z")
    stored_message("stranded", ref="res-7")  # recorded; what was kept is applied by the sweep
    message = repo.get("stranded")
    assert message is not None
    # record_send applied it already here: put it back as a dead sender would have left it.
    repo.keep_early("orange", "res-7", delivered, "2026-01-01T00:00:02.000Z")
    answer = sweeper_app.handler({}, FakeLambdaContext())
    assert answer == {"stranded": 1, "swept": 0}
    assert repo.early_updates("orange", "res-7") == []
