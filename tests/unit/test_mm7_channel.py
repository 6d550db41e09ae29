"""The `mms` channel through the sender: content checked before anything is sent, attachments
from S3, the MMSC's answer mapped to the message's state."""

import base64
import json

import boto3
import pytest

from gateway.aws.message_store import MessageRepository
from gateway.core.carrier_errors import OutOfTime
from gateway.core.retry import RetryPolicy
from gateway.core.send_request import parse_send_request
from gateway.core.sending import Result
from gateway.core.status import Status
from gateway.mm7 import SubmitSettings
from gateway.mms.channel import CALL_SECONDS, CONTENT_SECONDS, MAX_CONTENT_BYTES, Mm7Channel
from tests.pipeline import Pipeline
from tests.support import Answer, ScriptedAdapter, scripted_session
from tests.unit.mm7.test_submit import fault, submit_rsp

pytestmark = pytest.mark.usefixtures("aws")
XML = {"Content-Type": "text/xml; charset=utf-8"}
IMAGE = b"\x89PNG\r\n\x00\xff--x"


def sender_with(answer: Answer) -> tuple[Pipeline, ScriptedAdapter]:
    session, adapter = scripted_session(answer)
    channel = Mm7Channel(
        settings=SubmitSettings(
            vasp_id="vasp", vas_id="vas", sender_address="222111", service_code="s"
        ),
        credentials=lambda: ("user", "pass"),
        mmsc_url="https://mmsc.test/mm7",
        session=session,
    )
    repo = MessageRepository("messages")
    return Pipeline(store=repo, channels={"mms": channel}, retry=RetryPolicy()), adapter


def mms(**fields: object) -> str:
    return json.dumps({"id": "mms-1", "channel": "mms", "to": "+12125550123", **fields})


def status() -> tuple[Status, str | None, str | None]:
    message = MessageRepository("messages").get("mms-1")
    assert message is not None
    return message.status, message.provider_ref, message.progress.reason


def deliver(pipeline: Pipeline, body: str) -> Result:
    return pipeline.deliver(body)


def test_an_mms_with_an_s3_attachment_is_submitted_and_recorded() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket="content", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="content", Key="a.png", Body=IMAGE)
    sender, adapter = sender_with((200, submit_rsp(1000, message_id="mmsc-9"), XML))
    body = mms(text="Hi", attachments=[{"contentType": "image/png", "s3Uri": "s3://content/a.png"}])
    assert deliver(sender, body) is Result.SUBMITTED
    assert status()[:2] == (Status.SUBMITTED, "mmsc-9")
    [sent] = adapter.requests
    assert IMAGE in (sent.body or b"")
    assert sent.headers["Authorization"].startswith("Basic ")


def test_a_part_the_mmsc_could_never_take_fails_at_once() -> None:
    sender, adapter = sender_with((200, submit_rsp(1000), XML))
    bad_text = base64.b64encode(b"\xff\xfe not utf-8").decode()
    body = mms(attachments=[{"contentType": "text/plain", "base64": bad_text}])
    assert deliver(sender, body) is Result.FAILED
    assert "not UTF-8" in (status()[2] or "")
    assert adapter.requests == []


def test_a_missing_s3_object_is_retried_not_marked_unknown() -> None:
    sender, adapter = sender_with((200, submit_rsp(1000), XML))
    body = mms(attachments=[{"contentType": "image/png", "s3Uri": "s3://nowhere/x.png"}])
    assert deliver(sender, body) is Result.LATER
    assert status()[0] is Status.ACCEPTED
    assert adapter.requests == []


def test_s3_content_over_the_mm_limit_is_rejected_without_reading_it_whole() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket="content", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="content", Key="big.png", Body=b"x" * (MAX_CONTENT_BYTES + 10))
    sender, adapter = sender_with((200, submit_rsp(1000), XML))
    body = mms(attachments=[{"contentType": "image/png", "s3Uri": "s3://content/big.png"}])
    assert deliver(sender, body) is Result.REJECTED
    assert status()[2] == (
        f"attachment too large: s3://content/big.png is over {MAX_CONTENT_BYTES:,} bytes"
    )
    assert adapter.requests == []


def test_no_submit_starts_without_the_time_to_read_its_content_and_wait_it_out() -> None:
    session, adapter = scripted_session((200, submit_rsp(1000, message_id="m"), XML))
    channel = Mm7Channel(
        settings=SubmitSettings(vasp_id="v", vas_id="v", sender_address="1", service_code="s"),
        credentials=lambda: ("user", "pass"),
        mmsc_url="https://mmsc.test/mm7",
        session=session,
    )
    prepared = channel.prepare(parse_send_request(mms(text="Hi")))  # type: ignore[arg-type]
    with pytest.raises(OutOfTime):
        channel.send(prepared, max_wait=CONTENT_SECONDS + CALL_SECONDS - 1)
    assert adapter.requests == []
    assert channel.send(prepared, max_wait=CONTENT_SECONDS + CALL_SECONDS + 1) == "m"


def test_a_2xxx_fault_is_a_rejection() -> None:
    sender, _ = sender_with((500, fault(2002, "Address error"), XML))
    assert deliver(sender, mms(text="Hi")) is Result.REJECTED
    assert status()[0] is Status.REJECTED
