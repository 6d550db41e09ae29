"""`POST /callbacks/mm7` as API Gateway calls it: auth, every operation, storage, events,
and faults, against moto (S3, DynamoDB, EventBridge, Secrets Manager)."""

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from functions.mm7 import app as mm7_app
from gateway.aws import clients as aws_clients
from gateway.aws.inbound_store import InboundRepository
from gateway.aws.message_store import MessageRepository
from gateway.config import cache_clear
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from gateway.mm7 import MAX_PARTS, DeliverRequest, parse_request
from gateway.mm7.mime import MAX_CHARSET_CHARS, MAX_LABEL_CHARS
from gateway.mm7.parsing import MAX_ADDRESS_CHARS, MAX_ID_CHARS, MAX_RECIPIENTS, MAX_TEXT_CHARS
from gateway.mms.inbound import InboundMessages
from tests.faults import THROTTLED, UNAVAILABLE, Outage, outage
from tests.support import EVENTS, FakeLambdaContext, LogLines, event
from tests.unit.conftest import LambdaOutput
from tests.unit.mm7.corpus import SMALL_JPEG, load
from tests.unit.mm7.requests import request

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


def mm7_request(
    content_type: str | None,
    body: bytes,
    *,
    user: str = "mmsc",
    password: str = PASSWORD,
    ip: str = "198.51.100.5",
) -> dict[str, Any]:
    """`POST /callbacks/mm7` as the HTTP API hands it over: headers lower-cased, body base64."""
    sample = event("api_mm7_deliver.json")
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    sample["headers"] = {"content-type": content_type, "authorization": f"Basic {auth}"}
    sample["body"] = base64.b64encode(body).decode()
    sample["isBase64Encoded"] = True
    sample["requestContext"]["http"]["sourceIp"] = ip
    return sample


def call(
    fixture: str, *, user: str = "mmsc", password: str = PASSWORD, ip: str = "198.51.100.5"
) -> dict[str, Any]:
    loaded = load(fixture)
    sample = mm7_request(loaded.content_type, loaded.body, user=user, password=password, ip=ip)
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


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("api_mm7_*.json")))
def test_the_sample_events_work_as_sam_local_invoke_would_send_them(name: str) -> None:
    boto3.client("secretsmanager").put_secret_value(
        SecretId="mm7-creds",
        SecretString=json.dumps({"username": "mmsc", "password": "replace-with-the-password"}),
    )
    response = mm7_app.handler(event(name), FakeLambdaContext())
    assert response["statusCode"] == 200
    assert status_code(response) == "1000"


def test_the_sample_read_reply_moves_the_mms_it_names_to_delivered() -> None:
    """events/api_mm7_read_reply.json: a ReadReplyReq as the 23.140 schema has it, Read."""
    sent_mms(SEED_DR_MESSAGE_ID)
    boto3.client("secretsmanager").put_secret_value(
        SecretId="mm7-creds",
        SecretString=json.dumps({"username": "mmsc", "password": "replace-with-the-password"}),
    )
    response = mm7_app.handler(event("api_mm7_read_reply.json"), FakeLambdaContext())
    root = etree.fromstring(response["body"].encode())
    assert root.find(f".//{{{NS}}}ReadReplyRsp") is not None
    assert stored_status() is Status.DELIVERED
    message = MessageRepository("messages").get("mms-1")
    assert message is not None
    assert message.progress.history[-1]["providerStatus"] == "Read"
    assert message.progress.history[-1]["source"] == "mm7-rr"


def test_an_mo_mms_is_stored_byte_for_byte_announced_and_answered(mm7_env: str) -> None:
    response = call("deliver-seed-corrected")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/xml; charset=utf-8"
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
        message,
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
        challenge = response["headers"]["WWW-Authenticate"]
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


# ------------------------------------------------------------- storage failing during a DeliverReq
# deliver-charsets has five parts: S3 fails on the first, a middle and the last one.
FIVE_PARTS = "deliver-charsets"


def stored_objects() -> set[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket="attachments", Prefix="inbound/")
    return {item["Key"] for item in listed.get("Contents", [])}


def record_keys(record: dict[str, Any]) -> set[str]:
    return {part["M"]["s3Key"]["S"] for part in record["parts"]["L"]}


def assert_retryable_fault(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 500
    assert status_code(response) == "3000"


def assert_stored_once(queue_url: str, fixture: str) -> None:
    """One record naming every part, each in S3 byte for byte and nothing else there, marked
    published, and one event."""
    [record] = inbound_records()
    parsed = parse_request(*_fixture_args(fixture))
    assert isinstance(parsed, DeliverRequest)
    keys = [part["M"]["s3Key"]["S"] for part in record["parts"]["L"]]
    s3 = boto3.client("s3")
    for key, part in zip(keys, parsed.parts, strict=True):
        assert s3.get_object(Bucket="attachments", Key=key)["Body"].read() == part.data
    assert stored_objects() == set(keys)
    assert record["published"]["BOOL"] is True
    [announced] = bus_events(queue_url)
    assert announced["detail"]["id"] == record["id"]["S"]


@pytest.mark.parametrize("failing_part", [0, 2, 4])
def test_s3_failing_on_a_part_leaves_nothing_and_the_retry_stores_the_mo_once(
    mm7_env: str, failing_part: int
) -> None:
    with outage(aws_clients.s3(), Outage("PutObject", calls={failing_part + 1})):
        assert_retryable_fault(call(FIVE_PARTS))
    assert inbound_records() == []
    assert stored_objects() == set()  # the parts stored before the failure were removed
    assert bus_events(mm7_env) == []

    assert status_code(call(FIVE_PARTS)) == "1000"
    assert_stored_once(mm7_env, FIVE_PARTS)


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (503, UNAVAILABLE),
        (200, {"Errors": [{"Key": "k", "Code": "SlowDown", "Message": "slow down"}]}),
    ],
)
def test_s3_failing_for_deletes_too_still_answers_3000_and_the_retry_stores_the_mo_once(
    mm7_env: str, status: int, answer: dict[str, Any]
) -> None:
    """The parts stored before the failure cannot be removed either: they stay, named by no
    record, for the bucket's lifecycle rule; the retry stores its own."""
    s3 = aws_clients.s3()
    with (
        outage(s3, Outage("PutObject", calls={3, 4, 5})),
        outage(s3, Outage("DeleteObjects", status=status, answer=answer)),
    ):
        assert_retryable_fault(call(FIVE_PARTS))
    assert inbound_records() == []
    assert bus_events(mm7_env) == []
    left = stored_objects()
    assert len(left) == 2

    assert status_code(call(FIVE_PARTS)) == "1000"
    [record] = inbound_records()
    assert record_keys(record).isdisjoint(left)
    assert stored_objects() == record_keys(record) | left


@pytest.mark.parametrize("operation", ["GetItem", "PutItem"])
def test_dynamodb_failing_before_the_record_leaves_nothing_and_the_retry_stores_the_mo_once(
    mm7_env: str, operation: str
) -> None:
    """GetItem: the first read, before any part is stored; PutItem: the record, after every
    part was."""
    with outage(aws_clients.dynamodb(), Outage(operation, calls={1}, status=400, answer=THROTTLED)):
        assert_retryable_fault(call(FIVE_PARTS))
    assert inbound_records() == []
    assert stored_objects() == set()
    assert bus_events(mm7_env) == []

    assert status_code(call(FIVE_PARTS)) == "1000"
    assert_stored_once(mm7_env, FIVE_PARTS)


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (
            200,
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            },
        ),
        (400, {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}),
    ],
)
def test_the_event_bus_failing_keeps_the_record_unpublished_and_the_retry_announces_it_once(
    mm7_env: str, status: int, answer: dict[str, Any]
) -> None:
    with outage(aws_clients.events(), Outage("PutEvents", status=status, answer=answer)):
        assert_retryable_fault(call(FIVE_PARTS))
    [record] = inbound_records()
    assert record["published"]["BOOL"] is False
    assert stored_objects() == record_keys(record)  # the record has all its parts
    assert bus_events(mm7_env) == []

    assert status_code(call(FIVE_PARTS)) == "1000"
    assert_stored_once(mm7_env, FIVE_PARTS)


def test_marking_the_record_published_failing_is_retried_and_announces_the_same_id(
    mm7_env: str,
) -> None:
    """The event went out but the record does not say so: the retry publishes it again with
    the same id, by which subscribers recognise it (EventBridge does not deduplicate)."""
    with outage(aws_clients.dynamodb(), Outage("UpdateItem")):
        assert_retryable_fault(call(FIVE_PARTS))
    assert status_code(call(FIVE_PARTS)) == "1000"

    [record] = inbound_records()
    assert record["published"]["BOOL"] is True
    assert stored_objects() == record_keys(record)
    announced = bus_events(mm7_env)
    assert len(announced) == 2
    assert {e["detail"]["id"] for e in announced} == {record["id"]["S"]}


def test_the_same_mo_recorded_by_a_concurrent_attempt_keeps_only_that_attempts_parts(
    mm7_env: str,
) -> None:
    """The MMSC retried while its first attempt was still storing parts: the attempt that
    loses the record's put removes its own parts, and the record keeps the winner's."""
    parsed = parse_request(*_fixture_args(FIVE_PARTS))
    assert isinstance(parsed, DeliverRequest)
    request = parsed

    def inbound(repository: InboundRepository) -> InboundMessages:
        return InboundMessages(repository, bucket="attachments", bus="gateway-events")

    class Overtaken(InboundRepository):
        def create(self, inbound_id: str, record: dict[str, Any]) -> bool:
            inbound(InboundRepository("messages")).receive(
                request, received_at="2026-01-01T00:00:01.000Z"
            )
            return super().create(inbound_id, record)

    inbound(Overtaken("messages")).receive(request, received_at="2026-01-01T00:00:00.000Z")
    assert_stored_once(mm7_env, FIVE_PARTS)
    [record] = inbound_records()
    assert record["receivedAt"]["S"] == "2026-01-01T00:00:01.000Z"


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
    sample = mm7_request(loaded.content_type, bytes(body))
    response = mm7_app.handler(sample, FakeLambdaContext())
    assert response["statusCode"] in (200, 500)
    root = etree.fromstring(response["body"].encode())
    assert etree.QName(root).localname == "Envelope"


# ------------------------------------------------------------ fields over what the gateway stores


def call_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """`POST /callbacks/mm7` with a body made by the test."""
    response: dict[str, Any] = mm7_app.handler(mm7_request(content_type, body), FakeLambdaContext())
    return response


def seed_report(**fields: str) -> bytes:
    """The seed's DeliveryReportReq with some of its elements' text replaced."""
    body = load("dr-seed-rel6-1-4").body.decode()
    for name, value in fields.items():
        body = re.sub(f"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", body)
    return body.encode()


def test_a_report_with_a_message_id_longer_than_any_kept_is_refused_for_good() -> None:
    """3,000 characters: no MessageID the gateway keeps (2005), not a storage failure (3000)."""
    response = call_body("text/xml", seed_report(MessageID="m" * 3000))
    assert response["statusCode"] == 500
    assert status_code(response) == "2005"


def test_a_report_with_a_huge_status_text_is_applied_with_the_text_cut() -> None:
    """420 KB of StatusText on a Rejected: the report moves its MMS, the reason is cut."""
    sent_mms(SEED_DR_MESSAGE_ID)
    response = call_body("text/xml", seed_report(MMStatus="Rejected", StatusText="x" * 420_000))
    assert status_code(response) == "1000"
    message = MessageRepository("messages").get("mms-1")
    assert message is not None
    assert message.status is Status.UNDELIVERED
    assert message.progress.reason == "x" * (MAX_TEXT_CHARS - 1) + "\u2026"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Sender": f"<Number>{'1' * (MAX_ADDRESS_CHARS + 1)}</Number>"}, "2002"),
        ({"LinkedID": "L" * (MAX_ID_CHARS + 1)}, "4004"),
    ],
    ids=["address", "linked-id"],
)
def test_an_mo_with_a_field_over_its_limit_is_refused_for_good(
    mm7_env: str, fields: dict[str, str], code: str
) -> None:
    response = call_body("text/xml", request("DeliverReq", **fields))
    assert (response["statusCode"], status_code(response)) == (500, code)
    assert inbound_records() == []
    assert bus_events(mm7_env) == []


# A character that costs the most: 4 bytes in UTF-8 (DynamoDB), 12 as JSON's \u escapes
# (the event's Detail, as json.dumps writes it).
WIDE = "\U0001d11e"


def mo_at_every_limit() -> bytes:
    """A DeliverReq with every field the gateway keeps at its limit, in the costliest
    characters, and as many parts as it takes (the SOAP part counts)."""

    def address(index: int) -> str:
        return f"<RFC2822Address>{index:03d}{WIDE * (MAX_ADDRESS_CHARS - 3)}</RFC2822Address>"

    soap = request(
        "DeliverReq",
        WIDE * MAX_ID_CHARS,
        MM7Version=WIDE * 1000,
        LinkedID=WIDE * MAX_ID_CHARS,
        Sender=address(999),
        Recipients="".join(f"<To>{address(i)}</To>" for i in range(MAX_RECIPIENTS)),
        TimeStamp=WIDE * 1000,
        Priority=WIDE * 1000,
        Subject=WIDE * 1000,
    )
    leaf = (
        f"Content-Type: application/{'x' * 127}; charset={WIDE * MAX_CHARSET_CHARS}\r\n"
        f"Content-ID: <{WIDE * MAX_LABEL_CHARS}>\r\n"
        f"Content-Location: {WIDE * MAX_LABEL_CHARS}\r\n\r\n"
    ).encode() + b"x"
    parts = [b"Content-Type: text/xml\r\n\r\n" + soap] + [leaf] * (MAX_PARTS - 1)
    return b"".join(b"--b\r\n" + part + b"\r\n" for part in parts) + b"--b--\r\n"


def test_an_mo_at_every_limit_is_stored_and_announced(mm7_env: str) -> None:
    """The limits together fit DynamoDB's 400 KB item (moto refuses more, as DynamoDB does)
    and EventBridge's 256 KB event."""
    response = call_body("multipart/related; boundary=b", mo_at_every_limit())
    assert status_code(response) == "1000"
    [record] = inbound_records()
    assert len(record["recipients"]["M"]["to"]["L"]) == MAX_RECIPIENTS
    [announced] = bus_events(mm7_env)
    detail = json.dumps(announced["detail"], separators=(",", ":"))
    assert len(detail.encode()) < 256 * 1024


def test_an_mo_with_its_sender_hidden_is_stored_and_announced_as_such(
    mm7_env: str, log_lines: LogLines
) -> None:
    """The capture's DeliverReq has no Sender: stored and answered 1000, the sender said to
    be hidden, not an empty address."""
    response = call("deliver-rel6-hidden-sender-jpeg")
    assert (response["statusCode"], status_code(response)) == (200, "1000")
    [record] = inbound_records()
    assert "sender" not in record
    assert "senderKind" not in record
    assert record["senderHidden"]["BOOL"] is True
    [part] = record["parts"]["L"]
    key = part["M"]["s3Key"]["S"]
    assert boto3.client("s3").get_object(Bucket="attachments", Key=key)["Body"].read() == (
        SMALL_JPEG
    )
    [announced] = bus_events(mm7_env)
    assert (announced["detail"]["sender"], announced["detail"]["senderHidden"]) == (None, True)
    [received] = [line for line in log_lines() if line["message"] == "inbound mms received"]
    assert received["sender"] == "hidden"


@pytest.mark.parametrize(
    ("fixture", "sender", "kind"),
    [
        ("deliver-seed-corrected", "12125550123", "Number"),
        ("deliver-legacy-sender-rfc822address", "alice@example.com", "RFC2822Address"),
    ],
)
def test_an_mo_with_a_sender_is_stored_with_it_and_not_hidden(
    mm7_env: str, fixture: str, sender: str, kind: str
) -> None:
    assert call(fixture)["statusCode"] == 200  # a 1000 (faults go back with 500)
    [record] = inbound_records()
    assert (record["sender"]["S"], record["senderKind"]["S"]) == (sender, kind)
    assert record["senderHidden"]["BOOL"] is False
    [announced] = bus_events(mm7_env)
    assert (announced["detail"]["sender"], announced["detail"]["senderHidden"]) == (sender, False)
