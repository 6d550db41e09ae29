"""`POST /messages` through the status function as the HTTP API calls it: each request read by
the intake the send queue's requests go through, answered at once."""

import json
from typing import Any

import boto3
import pytest

from functions.status import app as status_app
from gateway.aws.message_store import MessageRepository
from gateway.aws.queue_store import QueueStore
from gateway.core.status import Status
from gateway.core.submission import MAX_MESSAGES
from gateway.orange.sms_channel import orange_lane
from tests.support import FakeLambdaContext, event

pytestmark = pytest.mark.usefixtures("aws")
CIV = "+2250700000001"
LANE = orange_lane("default")


@pytest.fixture(autouse=True)
def intake_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    queue_url = boto3.client("sqs").create_queue(QueueName="dispatch")["QueueUrl"]
    for name, value in {
        "ORANGE_API_URL": "https://orange.invalid",
        "ORANGE_CREDENTIALS_SECRET": "creds",
        "ORANGE_TOKEN_SECRET": "token",
        "DISPATCH_QUEUE_URL": queue_url,
    }.items():
        monkeypatch.setenv(name, value)
    return queue_url


def post(payload: object, *, raw: str | None = None) -> tuple[int, Any]:
    request = event(
        "api_get_message.json",
        routeKey="POST /messages",
        rawPath="/v1/messages",
        body=raw if raw is not None else json.dumps(payload),
    )
    request["requestContext"]["http"]["method"] = "POST"
    request["requestContext"]["routeKey"] = "POST /messages"
    request.pop("pathParameters")
    response = status_app.handler(request, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def sms(message_id: str | None = None, **fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"channel": "sms", "to": CIV, "text": "Hello!", **fields}
    if message_id is not None:
        request["id"] = message_id
    return request


def test_one_request_is_recorded_and_waits_in_its_lane_when_answered() -> None:
    status, body = post(sms("otp-1", priority="high"))

    assert status == 202
    assert body == {
        "id": "otp-1",
        "status": "accepted",
        "statusUrl": "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/v1/messages/otp-1",
    }
    message = MessageRepository("messages").get("otp-1")
    assert message is not None
    assert (message.status, message.priority) == (Status.ACCEPTED, "high")
    assert [entry.message_id for entry in QueueStore("messages").ready(LANE, 10)] == ["otp-1"]


def test_the_lane_is_woken(intake_env: str) -> None:
    post(sms("otp-1"))
    [wakeup] = boto3.client("sqs").receive_message(QueueUrl=intake_env)["Messages"]
    assert json.loads(wakeup["Body"]) == {"lane": LANE}


def test_a_request_without_an_id_gets_one() -> None:
    status, body = post(sms())
    assert status == 202
    assert body["id"].startswith("api-")
    assert MessageRepository("messages").get(body["id"]) is not None


def test_a_refused_request_gets_400_with_its_reason_and_nothing_is_recorded() -> None:
    status, body = post(sms("bad-1", to="+2252720212223"))  # a fixed line in Cote d'Ivoire
    assert status == 400
    assert body["id"] == "bad-1"
    assert body["status"] == "refused"
    assert "FIXED_LINE" in body["error"]
    assert MessageRepository("messages").get("bad-1") is None


def test_a_batch_answers_each_message_and_queues_only_the_valid_ones() -> None:
    status, body = post({"messages": [sms("ok-1"), sms("bad-1", text=""), sms("ok-2")]})

    assert status == 207
    assert [(m["index"], m.get("id"), m["status"]) for m in body["messages"]] == [
        (0, "ok-1", "accepted"),
        (1, "bad-1", "refused"),
        (2, "ok-2", "accepted"),
    ]
    assert "text" in body["messages"][1]["error"]
    repo = MessageRepository("messages")
    assert repo.get("ok-1") is not None
    assert repo.get("ok-2") is not None
    assert repo.get("bad-1") is None


def test_the_same_id_twice_is_one_message() -> None:
    assert post(sms("once"))[0] == 202
    status, body = post(sms("once", text="Changed"))
    assert (status, body["duplicate"]) == (202, True)
    message = MessageRepository("messages").get("once")
    assert message is not None
    assert [entry.message_id for entry in QueueStore("messages").ready(LANE, 10)] == ["once"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not JSON"),
        ("[" * 3000, "not JSON"),
        ('{"messages": []}', "1 to 100"),
        (json.dumps({"messages": [sms()] * (MAX_MESSAGES + 1)}), "1 to 100"),
        (json.dumps({"messages": [sms()], "to": CIV}), "nothing else"),
    ],
)
def test_an_unreadable_post_gets_400_and_records_nothing(raw: str, reason: str) -> None:
    status, body = post(None, raw=raw)
    assert status == 400
    assert reason in body["error"]
