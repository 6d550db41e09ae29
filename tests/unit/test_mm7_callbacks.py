"""`POST /callbacks/mm7` as API Gateway calls it: auth, every operation, storage, events,
and faults, against moto (S3, DynamoDB, EventBridge, Secrets Manager)."""

import base64
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from functions.mm7 import app as mm7_app
from gateway import events
from gateway.config import cache_clear
from gateway.lifecycle import StatusUpdate
from gateway.mm7 import DeliverRequest, parse_request
from gateway.model import Message
from gateway.repository import MessageRepository
from gateway.status import Status
from gateway.tracking import StatusTracker
from tests.support import FakeLambdaContext, LogLines, event
from tests.unit.conftest import LambdaOutput
from tests.unit.mm7.corpus import load

PASSWORD = "mm7-password-0123456789"
WRONG_PASSWORD = "mm7-password-guessed-9876"
NS = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
SEED_DR_MESSAGE_ID = "xxxxxxxxxxxx"  # as the seed has it


@pytest.fixture(autouse=True)
def mm7_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The mm7 function's resources; yields the URL of a queue that receives the bus's events."""
    secret = boto3.client("secretsmanager").create_secret(
        Name="mm7-creds", SecretString=json.dumps({"username": "mmsc", "password": PASSWORD})
    )["ARN"]
    boto3.client("s3").create_bucket(
        Bucket="attachments", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    bus = boto3.client("events")
    bus.create_event_bus(Name="gateway-events")
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    bus.put_rule(
        Name="all", EventBusName="gateway-events", EventPattern='{"source": ["carrier-gateway"]}'
    )
    bus.put_targets(
        Rule="all", EventBusName="gateway-events", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    for name, value in {
        "MM7_CREDENTIALS_SECRET": secret,
        "MM7_ALLOWLIST": "",
        "BUCKET_NAME": "attachments",
        "EVENT_BUS_NAME": "gateway-events",
    }.items():
        monkeypatch.setenv(name, value)
    return queue_url


def call(
    fixture: str, *, user: str = "mmsc", password: str = PASSWORD, ip: str = "198.51.100.5"
) -> dict[str, Any]:
    sample = event("api_mm7_deliver.json")
    loaded = load(fixture)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    sample["headers"] = {"Content-Type": loaded.content_type, "Authorization": f"Basic {auth}"}
    sample["multiValueHeaders"] = {k: [v] for k, v in sample["headers"].items()}
    sample["body"] = base64.b64encode(loaded.body).decode()
    sample["isBase64Encoded"] = True
    sample["requestContext"]["identity"]["sourceIp"] = ip
    response: dict[str, Any] = mm7_app.handler(sample, FakeLambdaContext())
    return response


def status_code(response: dict[str, Any]) -> str:
    root = etree.fromstring(response["body"].encode())
    return str(root.findtext(f".//{{{NS}}}StatusCode") or root.findtext(".//StatusCode"))


def bus_events(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def inbound_records() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName="messages")["Items"]
    return [i for i in items if i["pk"]["S"].startswith("MO#")]


def test_the_sample_events_work_as_sam_local_invoke_would_send_them() -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="mm7-creds",
        SecretString=json.dumps({"username": "mmsc", "password": "replace-with-the-password"}),
    )
    for name in ("api_mm7_deliver.json", "api_mm7_delivery_report.json"):
        response = mm7_app.handler(event(name), FakeLambdaContext())
        assert response["statusCode"] == 200
        assert status_code(response) == "1000"


def test_an_mo_mms_is_stored_byte_for_byte_announced_and_answered(mm7_env: str) -> None:
    response = call("deliver-seed-corrected")
    assert response["statusCode"] == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["text/xml; charset=utf-8"]
    root = etree.fromstring(response["body"].encode())
    assert root.find(f".//{{{NS}}}DeliverRsp") is not None
    transaction = root.find(f".//{{{NS}}}TransactionID")
    assert transaction is not None
    assert transaction.text == "369171411769819136"
    assert transaction.get("{http://schemas.xmlsoap.org/soap/envelope/}mustUnderstand") == "1"
    assert status_code(response) == "1000"

    [record] = inbound_records()
    parsed = parse_request(*_fixture_args("deliver-seed-corrected"))
    assert isinstance(parsed, DeliverRequest)
    assert record["sender"]["S"] == "12125550123"
    assert record["linkedId"]["S"] == "369171411769819136"
    parts = record["parts"]["L"]
    assert len(parts) == len(parsed.parts) > 0
    s3 = boto3.client("s3")
    for stored, part in zip(parts, parsed.parts, strict=True):
        key = stored["M"]["s3Key"]["S"]
        assert s3.get_object(Bucket="attachments", Key=key)["Body"].read() == part.data
        assert int(stored["M"]["size"]["N"]) == len(part.data)
    assert any(b"\xff" in part.data for part in parsed.parts)  # bytes that are not UTF-8

    [announced] = bus_events(mm7_env)
    assert announced["detail-type"] == "InboundMessageReceived"
    assert announced["detail"]["id"] == record["id"]["S"]
    assert announced["detail"]["parts"][0]["s3Uri"].startswith("s3://attachments/inbound/")


def test_the_same_mo_retried_is_one_inbound_message_and_one_event(mm7_env: str) -> None:
    assert status_code(call("deliver-seed-corrected")) == "1000"
    assert status_code(call("deliver-seed-corrected")) == "1000"
    assert len(inbound_records()) == 1
    assert len(bus_events(mm7_env)) == 1


def _fixture_args(name: str) -> tuple[str | None, bytes]:
    loaded = load(name)
    return loaded.content_type, loaded.body


def sent_mms(ref: str) -> None:
    repo = MessageRepository("messages")
    message = Message.new(
        id="mms-1",
        channel="mms",
        to="+12125550123",
        update=StatusUpdate(Status.ACCEPTED, "2026-01-01T00:00:00.000Z", "gateway"),
    )
    repo.create(message)
    StatusTracker(repo).record_send(
        "mms-1",
        StatusUpdate(Status.SUBMITTED, "2026-01-01T00:00:01.000Z", "gateway"),
        provider="mm7",
        ref=ref,
    )


def stored_status() -> Status:
    message = MessageRepository("messages").get("mms-1")
    assert message is not None
    return message.status


def test_a_delivery_report_moves_its_mms_once() -> None:
    sent_mms(SEED_DR_MESSAGE_ID)
    for _ in range(2):
        assert status_code(call("dr-seed-rel6-1-4")) == "1000"
    message = MessageRepository("messages").get("mms-1")
    assert message is not None
    assert message.status is Status.DELIVERED
    assert [h["status"] for h in message.progress.history].count("delivered") == 1


def test_reports_and_mo_are_logged_under_their_messages_id(log_lines: LogLines) -> None:
    sent_mms(SEED_DR_MESSAGE_ID)
    call("dr-seed-rel6-1-4")
    call("deliver-seed-corrected")

    by_message = {line["message"]: line for line in log_lines()}
    assert by_message["mm7 delivery report"]["correlation_id"] == "mms-1"
    [record] = inbound_records()
    assert by_message["inbound mms received"]["correlation_id"] == record["id"]["S"]


def test_a_report_before_its_mms_is_recorded_is_kept_and_answered_1000() -> None:
    assert status_code(call("dr-seed-rel6-1-4")) == "1000"
    sent_mms(SEED_DR_MESSAGE_ID)
    assert stored_status() is Status.DELIVERED


@pytest.mark.parametrize(
    ("credentials", "source", "http_status"),
    [
        (("mmsc", WRONG_PASSWORD), ("198.51.100.5", ""), 401),
        (("someone", PASSWORD), ("198.51.100.5", ""), 401),
        (("mmsc", PASSWORD), ("203.0.113.9", "198.51.100.0/24"), 403),
        (("mmsc", PASSWORD), ("198.51.100.5", "198.51.100.0/24"), 200),
    ],
    ids=["wrong-password", "wrong-user", "address-not-allowed", "allowed"],
)
def test_only_the_mmsc_gets_in_and_no_password_is_logged(
    monkeypatch: pytest.MonkeyPatch,
    lambda_output: Callable[[], LambdaOutput],
    credentials: tuple[str, str],
    source: tuple[str, str],
    http_status: int,
) -> None:
    (user, password), (ip, allowlist) = credentials, source
    monkeypatch.setenv("MM7_ALLOWLIST", allowlist)
    cache_clear()
    response = call("dr-seed-rel6-1-4", user=user, password=password, ip=ip)
    assert response["statusCode"] == http_status
    output = lambda_output()
    reasons = [r["reason"] for r in output.warnings("mm7 callback refused")]
    if http_status == 401:
        [challenge] = response["multiValueHeaders"]["WWW-Authenticate"]
        assert challenge.startswith("Basic realm=")
        assert reasons == ["wrong HTTP Basic credentials"]
    elif http_status == 403:
        assert reasons == ["source address not on the MM7 allowlist"]
    else:
        assert reasons == []
    # Neither the real password nor the one presented, nor the header that carries them.
    authorization = base64.b64encode(f"{user}:{password}".encode()).decode()
    for secret in (PASSWORD, WRONG_PASSWORD, authorization):
        assert secret not in output.text


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("malformed-unclosed-tag", "4004"),
        ("dr-missing-message-id", "4004"),
        ("xxe-external-entity", "4004"),
        ("unsupported-cancel-req", "4003"),
        ("deliver-too-many-parts-top-level", "2004"),
    ],
)
def test_bad_requests_get_a_fault_with_the_mm7_code(fixture: str, code: str) -> None:
    response = call(fixture)
    assert response["statusCode"] == 500
    assert "Fault" in response["body"]
    assert status_code(response) == code


def _unavailable(*args: object, **kwargs: object) -> None:
    raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "PutObject")


def test_storage_down_is_a_server_error_with_nothing_half_written(
    monkeypatch: pytest.MonkeyPatch, mm7_env: str
) -> None:
    monkeypatch.setattr("gateway.inbound.store", _unavailable)
    response = call("deliver-seed-corrected")
    assert response["statusCode"] == 500
    assert status_code(response) == "3000"
    assert inbound_records() == []
    assert bus_events(mm7_env) == []


def test_an_event_bus_failure_is_retried_until_the_event_goes_out(
    monkeypatch: pytest.MonkeyPatch, mm7_env: str
) -> None:
    """The record is kept unpublished; the MMSC's retry publishes the event."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise events.EventNotPublished("InternalFailure: try again")

    with monkeypatch.context() as patch:
        patch.setattr("gateway.inbound.publish", refuse)
        assert status_code(call("deliver-seed-corrected")) == "3000"
    [record] = inbound_records()
    assert record["published"]["BOOL"] is False
    assert status_code(call("deliver-seed-corrected")) == "1000"
    [record] = inbound_records()
    assert record["published"]["BOOL"] is True
    assert len(bus_events(mm7_env)) == 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fixture=st.sampled_from(
        ["deliver-seed-corrected", "dr-seed-rel6-1-4", "rr-read-prefixed", "deliver-charsets"]
    ),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=8),
)
def test_the_endpoint_always_answers_soap_whatever_it_gets(
    fixture: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    """Mutated requests through the whole handler: a well-formed SOAP reply or fault, never a
    crash (an unhandled exception would be API Gateway's 502)."""
    loaded = load(fixture)
    body = bytearray(loaded.body[: max(cut, 1)] if cut else loaded.body)
    for position, value in flips:
        if body:
            body[position % len(body)] = value
    sample = event("api_mm7_deliver.json")
    auth = base64.b64encode(f"mmsc:{PASSWORD}".encode()).decode()
    sample["headers"] = {"Content-Type": loaded.content_type, "Authorization": f"Basic {auth}"}
    sample["multiValueHeaders"] = {k: [v] for k, v in sample["headers"].items()}
    sample["body"] = base64.b64encode(bytes(body)).decode()
    response = mm7_app.handler(sample, FakeLambdaContext())
    assert response["statusCode"] in (200, 500)
    root = etree.fromstring(response["body"].encode())
    assert etree.QName(root).localname == "Envelope"
