"""MessageStatusChanged events: the table's stream, as Lambda would deliver it, through the
publisher to the bus; one event per status change, none for other writes."""

import json
from typing import Any

import boto3
import pytest

from functions.status_events import app as status_events_app
from gateway.aws.message_store import MessageRepository
from gateway.aws.status_events import status_change
from gateway.config import cache_clear as config_cache_clear
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from infra.local.triggers.streams import lambda_record
from tests.support import FakeLambdaContext, event

BUS = "gateway-bus"


@pytest.fixture
def bus_queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bus, with every event also put on a queue the test reads."""
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    events.put_rule(Name="all", EventBusName=BUS, EventPattern='{"source": ["carrier-gateway"]}')
    events.put_targets(
        Rule="all",
        EventBusName=BUS,
        Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}],
    )
    return queue_url


def stream_records() -> list[dict[str, Any]]:
    """Everything on the table's stream so far, as Lambda's DynamoDB event records."""
    arn = boto3.client("dynamodb").describe_table(TableName="messages")["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    return [lambda_record(dict(r), arn, "eu-west-1") for r in records]


def published(queue_url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def a_delivered_sms() -> None:
    repo = MessageRepository("messages")
    tracker = StatusTracker(repo)
    message = Message.new(
        id="order-42",
        channel="sms",
        to="+2250700000001",
        update=StatusUpdate(Status.ACCEPTED, "2026-01-01T00:00:00.000Z", "gateway"),
        metadata={"order": 42},
        priority="high",
        campaign="spring",
    )
    assert repo.create(message)
    submitted = StatusUpdate(Status.SUBMITTED, "2026-01-01T00:00:01.000Z", "gateway")
    tracker.record_send(message, submitted, provider="orange", ref="res-1")
    tracker.touch("order-42", send_started_at=None)  # a write that changes no status
    delivered = StatusUpdate(
        Status.DELIVERED, "2026-01-01T00:00:05.000Z", "orange", provider_status="Delivered"
    )
    tracker.apply("order-42", delivered)
    tracker.apply("order-42", delivered)  # a duplicate receipt: no write, no event


def test_each_status_change_is_published_once_with_its_metadata(bus_queue: str) -> None:
    a_delivered_sms()
    event = {"Records": stream_records()}

    response = status_events_app.handler(event, FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    events = published(bus_queue)
    assert {e["detail-type"] for e in events} == {"MessageStatusChanged"}
    details = [e["detail"] for e in events]
    assert [(d["previousStatus"], d["status"]) for d in details] == [
        (None, "accepted"),
        ("accepted", "submitted"),
        ("submitted", "delivered"),
    ]
    assert details[-1]["providerStatus"] == "Delivered"
    assert details[-1]["providerMessageId"] == "res-1"
    assert all(d["metadata"] == {"order": 42} for d in details)
    assert all((d["priority"], d["campaign"]) == ("high", "spring") for d in details)
    assert len({d["changeId"] for d in details}) == 3


@pytest.mark.usefixtures("bus_queue")
def test_a_failed_publish_is_reported_for_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    a_delivered_sms()
    records = stream_records()
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    config_cache_clear()

    response = status_events_app.handler({"Records": records}, FakeLambdaContext())

    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    changes = [r for r in records if status_change(r) is not None]
    assert failed == [r["dynamodb"]["SequenceNumber"] for r in changes]


def test_writes_that_are_not_status_changes_give_no_event() -> None:
    image = {"pk": {"S": "REF#orange#res-1"}, "sk": {"S": "MSG"}, "messageId": {"S": "x"}}
    pointer = {"eventName": "INSERT", "dynamodb": {"Keys": image, "NewImage": image}}
    removed = {"eventName": "REMOVE", "dynamodb": {"Keys": image, "OldImage": image}}
    assert status_change(pointer) is None
    assert status_change(removed) is None


def test_the_sample_event_for_sam_local_invoke_reads_as_two_changes() -> None:
    changes = [status_change(r) for r in event("dynamodb_status_change.json")["Records"]]
    assert [(c["previousStatus"], c["status"]) for c in changes if c] == [
        (None, "accepted"),
        ("accepted", "submitted"),
    ]
