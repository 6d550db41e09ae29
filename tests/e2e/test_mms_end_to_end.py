"""MMS through the local stack: SubmitReq to the MMSC simulator, its delivery reports back
through /callbacks/mm7, and an MO MMS pushed by the MMSC stored and announced."""

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack
from infra.simulators.mmsc import MmscSimulator
from tests.e2e.support import local_stack, wait_for

pytestmark = pytest.mark.e2e
IMAGE = b"\x89PNG\r\n\x1a\n\x00\xff\xfe--boundary-like--\r\n\x00"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(tmp_path_factory, "mms") as running:
        yield running


def test_an_mms_is_submitted_and_followed_to_delivered(stack: LocalStack) -> None:
    gateway = GatewayClient(from_local_dict(dict(stack.endpoints)))
    s3 = stack.clients.s3()
    bucket = stack.endpoints["bucket"]
    s3.put_object(Bucket=bucket, Key="outbound/voucher.png", Body=IMAGE)
    ids = {"ok": f"mms-{uuid.uuid4().hex[:6]}", "bad": f"mms-{uuid.uuid4().hex[:6]}"}
    request: dict[str, Any] = {
        "channel": "mms",
        "subject": "Voucher <50%>",
        "text": "Bonjour, voici votre bon d'achat ✓",
        "attachments": [
            {"contentType": "image/png", "s3Uri": f"s3://{bucket}/outbound/voucher.png"},
            {"contentType": "text/plain", "base64": base64.b64encode(b"inline").decode()},
        ],
    }
    gateway.send(
        [
            {**request, "id": ids["ok"], "to": "+12125550123"},
            {**request, "id": ids["bad"], "to": "+12125550199"},  # the MMSC rejects ...99
        ]
    )
    views: dict[str, Any] = {}

    def settled() -> bool:
        views.update({k: gateway.status(v) for k, v in ids.items()})
        return all(v and v["status"] in ("delivered", "undelivered") for v in views.values())

    wait_for(settled, "both MMS to settle")
    assert views["ok"]["status"] == "delivered"
    assert views["ok"]["providerStatus"] == "Retrieved"
    assert [h["status"] for h in views["ok"]["history"]] == [
        "accepted",
        "submitted",
        "sent",
        "delivered",
    ]
    assert views["bad"]["status"] == "undelivered"
    mmsc = stack.simulator(MmscSimulator)
    [submit] = [s for s in mmsc.submits() if s.message_id == views["ok"]["providerMessageId"]]
    assert [p.data for p in submit.parts] == [
        "Bonjour, voici votre bon d'achat ✓".encode(),
        IMAGE,
        b"inline",
    ]


def test_an_mo_mms_from_the_mmsc_is_stored(stack: LocalStack) -> None:
    mmsc = stack.simulator(MmscSimulator)
    answer = mmsc.push_deliver(sender="+12125550123", subject="Photo")
    assert answer.status_code == 1000
    records = stack.clients.dynamodb().scan(
        TableName=stack.endpoints["table_name"],
        FilterExpression="begins_with(pk, :mo)",
        ExpressionAttributeValues={":mo": {"S": "MO#"}},
    )["Items"]
    assert [r["subject"]["S"] for r in records] == ["Photo"]
    sqs, queue = stack.clients.sqs(), stack.endpoints["events_queue_url"]
    events = []  # status events of the sends above come first
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        events += [json.loads(m["Body"]) for m in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    announced = [e for e in events if e["detail-type"] == "InboundMessageReceived"]
    assert [e["detail"]["subject"] for e in announced] == ["Photo"]
