"""`cgw resend`: derived ids, what is refused, running it twice, a campaign's resends, and the
command against a deployed stack's table and send queue (moto)."""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from cgw import cli
from cgw.gateway_client import NotQueued, QueueResult
from cgw.resend import Outcome, Resender, resend_id
from gateway.aws.message_store import MessageRepository
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.send_request import ID_PATTERN, SmsRequest, parse_send_request
from gateway.core.status import Status
from tests.fakes import MemoryMessageStore

AT = "2026-12-03T10:00:00.000Z"


def request(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": message_id, "channel": "sms", "to": "+2250700000001", "text": "Hi", **fields}


def message(message_id: str, status: Status, *, channel: str = "sms", **fields: Any) -> Message:
    fields.setdefault("request", json.dumps(request(message_id)))
    return Message.new(
        id=message_id,
        channel=channel,
        to="+2250700000001",
        update=StatusUpdate(status, AT, "gateway"),
        **fields,
    )


@dataclass
class SendQueue:
    """The send queue: what was queued; the bodies at `refuse` positions are refused."""

    bodies: list[str] = field(default_factory=list)
    refuse: set[int] = field(default_factory=set)

    def __call__(self, bodies: Sequence[str]) -> QueueResult:
        refused = [NotQueued(i, "InvalidMessageContents") for i in range(len(bodies))]
        refused = [r for r in refused if r.index in self.refuse]
        self.bodies += [b for i, b in enumerate(bodies) if i not in self.refuse]
        return QueueResult(len(bodies) - len(refused), refused)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.bodies]


@pytest.fixture
def store() -> MemoryMessageStore:
    return MemoryMessageStore()


@pytest.fixture
def queue() -> SendQueue:
    return SendQueue()


@pytest.fixture
def resender(store: MemoryMessageStore, queue: SendQueue) -> Resender:
    return Resender(store, queue)


def test_a_resend_id_is_the_original_and_its_number_within_the_id_pattern() -> None:
    assert resend_id("order-42", 1) == "order-42.r1"
    assert resend_id("order-42", 12) == "order-42.r12"
    long_a, long_b = "a" * 127 + "x", "a" * 127 + "y"
    ids = {resend_id(original, n) for original in (long_a, long_b) for n in (1, 100)}
    assert len(ids) == 4  # each original's own, each number its own
    assert all(re.match(ID_PATTERN, i) and len(i) == 128 for i in ids)
    assert resend_id(long_a, 1) == resend_id(long_a, 1)  # derived, never drawn


def test_a_failed_message_is_sent_again_as_its_request_with_a_new_id_and_the_link(
    store: MemoryMessageStore, queue: SendQueue, resender: Resender
) -> None:
    original = request("order-42", senderName="MonService", metadata={"order": 42})
    store.create(message("order-42", Status.UNKNOWN, request=json.dumps(original)))

    assert resender.resend(["order-42"]) == [Outcome("order-42", resend="order-42.r1")]
    assert queue.requests == [{**original, "id": "order-42.r1", "resendOf": "order-42"}]
    resent = parse_send_request(queue.bodies[0])
    assert isinstance(resent, SmsRequest)
    assert resent.resend_of == "order-42"


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (message("m", Status.DELIVERED), "delivered"),
        (message("m", Status.ACCEPTED), "still in flight: m is accepted"),
        (message("m", Status.SUBMITTED), "still in flight: m is submitted"),
        (message("m", Status.SENT), "still in flight: m is sent"),
        (
            message("m", Status.CANCELLED),
            "cancelled: only unknown, failed, expired, undelivered, rejected are resent",
        ),
        (
            message("m", Status.FAILED, request=None),
            "failed: its request was not kept (an invalid request is not: fix it and send it"
            " again)",
        ),
        (
            message("m", Status.UNKNOWN, channel="orange-pl-mms"),
            "an orange-pl-mms message: Orange Poland sent it; the gateway only follows it",
        ),
    ],
)
def test_what_is_refused_and_why(
    stored: Message, reason: str, store: MemoryMessageStore, queue: SendQueue, resender: Resender
) -> None:
    store.create(stored)
    assert resender.resend(["m"]) == [Outcome("m", reason=reason)]
    assert resender.resend(["never-sent"]) == [
        Outcome("never-sent", reason="no message with this id")
    ]
    assert queue.bodies == []


@pytest.mark.parametrize("status", ["undelivered", "rejected", "failed", "expired", "unknown"])
def test_each_status_that_ended_without_delivery_may_be_resent(
    status: str, store: MemoryMessageStore, resender: Resender
) -> None:
    store.create(message("m", Status(status)))
    assert resender.resend(["m"]) == [Outcome("m", resend="m.r1")]


def test_running_it_twice_never_sends_two_resends_at_once(
    store: MemoryMessageStore, queue: SendQueue, resender: Resender
) -> None:
    store.create(message("x", Status.FAILED))
    # The second run comes before the gateway recorded the first resend: the same id again,
    # which the gateway sends once.
    assert resender.resend(["x"]) == [Outcome("x", resend="x.r1")]
    assert resender.resend(["x"]) == [Outcome("x", resend="x.r1")]
    assert [r["id"] for r in queue.requests] == ["x.r1", "x.r1"]
    # Recorded and in flight: refused, whichever of the two is given.
    store.create(message("x.r1", Status.SENT, resend_of="x"))
    assert resender.resend(["x"]) == [Outcome("x", reason="still in flight: x.r1 is sent")]
    assert resender.resend(["x.r1"]) == [Outcome("x.r1", reason="still in flight: x.r1 is sent")]
    # It ended undelivered: the next one may go, as the original's second resend.
    store.messages["x.r1"] = message("x.r1", Status.UNDELIVERED, resend_of="x")
    assert resender.resend(["x.r1"]) == [Outcome("x.r1", resend="x.r2")]
    assert queue.requests[-1]["resendOf"] == "x"
    store.create(message("x.r2", Status.DELIVERED, resend_of="x"))
    assert resender.resend(["x"]) == [Outcome("x", reason="delivered as x.r2")]
    assert len(queue.bodies) == 3


def test_an_original_and_its_resend_given_together_are_resent_once(
    store: MemoryMessageStore, queue: SendQueue, resender: Resender
) -> None:
    store.create(message("x", Status.FAILED))
    store.create(message("x.r1", Status.EXPIRED, resend_of="x"))

    assert resender.resend(["x", "x.r1"]) == [
        Outcome("x", resend="x.r2"),
        Outcome("x.r1", resend="x.r2"),
    ]
    assert [r["id"] for r in queue.requests] == ["x.r2"]


def test_a_resend_the_queue_refused_is_reported(
    store: MemoryMessageStore, queue: SendQueue, resender: Resender
) -> None:
    store.create(message("a", Status.FAILED))
    store.create(message("b", Status.FAILED))
    queue.refuse = {1}

    assert resender.resend(["a", "b"]) == [
        Outcome("a", resend="a.r1"),
        Outcome("b", reason="not queued: InvalidMessageContents"),
    ]


def test_a_campaign_resends_the_originals_whose_latest_ended_as_asked(
    store: MemoryMessageStore, queue: SendQueue, resender: Resender
) -> None:
    def add(message_id: str, status: Status, **fields: Any) -> None:
        store.create(message(message_id, status, campaign="spring", **fields))

    add("failed", Status.FAILED)
    add("unknown", Status.UNKNOWN)
    add("undelivered", Status.UNDELIVERED)
    add("delivered", Status.DELIVERED)
    add("sending", Status.SENT)
    add("resent-ok", Status.FAILED)
    add("resent-ok.r1", Status.DELIVERED, resend_of="resent-ok")
    add("resending", Status.EXPIRED)
    add("resending.r1", Status.ACCEPTED, resend_of="resending")
    add("resent-failed", Status.UNKNOWN)
    add("resent-failed.r1", Status.FAILED, resend_of="resent-failed")
    store.create(message("other", Status.FAILED, campaign="autumn"))

    outcomes = resender.resend_campaign("spring", [Status.UNKNOWN, Status.FAILED, Status.EXPIRED])
    assert sorted(outcomes, key=lambda o: o.id) == [
        Outcome("failed", resend="failed.r1"),
        Outcome("resending", reason="still in flight: resending.r1 is accepted"),
        Outcome("resent-failed", resend="resent-failed.r2"),
        Outcome("resent-failed.r1", resend="resent-failed.r2"),
        Outcome("unknown", resend="unknown.r1"),
    ]
    assert sorted(r["id"] for r in queue.requests) == [
        "failed.r1",
        "resent-failed.r2",
        "unknown.r1",
    ]
    assert resender.resend_campaign("spring", [Status.UNDELIVERED]) == [
        Outcome("undelivered", resend="undelivered.r1")
    ]


@pytest.fixture
def deployed(aws: None) -> tuple[MessageRepository, str]:
    """A deployed stack (moto): its table and its send queue."""
    queue_url = boto3.client("sqs").create_queue(QueueName="send")["QueueUrl"]
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "ApiUrl": {"Value": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"},
            "SendQueueUrl": {"Value": queue_url},
            "TableName": {"Value": "messages"},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="gw", TemplateBody=json.dumps(template))
    return MessageRepository("messages"), queue_url


def queued(queue_url: str) -> list[dict[str, Any]]:
    answer = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def test_the_command_reads_the_table_and_queues_the_resends(
    deployed: tuple[MessageRepository, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, queue_url = deployed
    lost = json.dumps(request("lost", campaign="spring"))
    store.create(message("lost", Status.UNKNOWN, campaign="spring", request=lost))
    store.create(message("fine", Status.DELIVERED, campaign="spring"))
    stack = ["--stack", "gw", "--json", "resend"]

    assert cli.main([*stack, "lost", "fine"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "resent": [{"id": "lost", "resend": "lost.r1"}],
        "refused": [{"id": "fine", "reason": "delivered"}],
    }
    [resent] = queued(queue_url)
    assert (resent["id"], resent["resendOf"], resent["campaign"]) == ("lost.r1", "lost", "spring")

    assert cli.main([*stack, "--campaign", "spring", "--status", "unknown"]) == 0
    assert json.loads(capsys.readouterr().out)["resent"] == [{"id": "lost", "resend": "lost.r1"}]
    assert cli.main([*stack, "--campaign", "spring", "--status", "delivered"]) == 2
    assert cli.main([*stack, "lost", "--status", "unknown"]) == 2  # --status is a campaign's
