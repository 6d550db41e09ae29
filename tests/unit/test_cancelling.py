"""Cancelling: by id and by campaign; the send mark decides every race with a dispatcher."""

from dataclasses import replace
from typing import Any

import pytest

from gateway.core.cancelling import Cancel, Canceller, RecentCampaignMarks
from gateway.core.send_request import SmsRequest
from gateway.core.sending import Prepared, Result
from gateway.core.status import Status
from tests.fakes import MemoryMessageStore
from tests.pipeline import Pipeline, in_turn

LANE = "orange-sms:a"


class Accepting:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def prepare(self, request: SmsRequest) -> Prepared[str]:
        return Prepared(
            channel="sms", to=request.to, provider="orange", lane=LANE, route=request.id or ""
        )

    def send(self, prepared: Prepared[str], max_wait: float) -> str:
        self.sent.append(prepared.route)
        return f"ref-{prepared.route}"


def sms(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": message_id, "channel": "sms", "to": "+2250700000001", "text": "x", **fields}


@pytest.fixture
def channel() -> Accepting:
    return Accepting()


@pytest.fixture
def store() -> MemoryMessageStore:
    return MemoryMessageStore()


@pytest.fixture
def pipeline(store: MemoryMessageStore, channel: Accepting) -> Pipeline:
    return Pipeline(store=store, channels={"sms": channel}, campaigns=store)


@pytest.fixture
def canceller(store: MemoryMessageStore) -> Canceller:
    return Canceller(store=store, campaigns=store, sleep=lambda _: None)


def test_a_waiting_message_is_cancelled_and_never_sent(
    pipeline: Pipeline, canceller: Canceller, channel: Accepting
) -> None:
    pipeline.queue_request(sms("m-1"))
    result = canceller.cancel("m-1")
    assert result.outcome is Cancel.CANCELLED
    assert result.message is not None
    assert (result.message.status, result.message.progress.reason) == (
        Status.CANCELLED,
        "cancelled by an operator",
    )
    assert pipeline.dispatch(LANE).outcomes == {"m-1": Result.DUPLICATE}
    assert channel.sent == []


def test_a_sent_message_or_an_unknown_id_cannot_be_cancelled(
    pipeline: Pipeline, canceller: Canceller
) -> None:
    assert pipeline.deliver(sms("m-1")) is Result.SUBMITTED
    sent = canceller.cancel("m-1")
    assert sent.outcome is Cancel.TOO_LATE
    assert sent.message is not None
    assert sent.message.status is Status.SUBMITTED
    assert canceller.cancel("nope").outcome is Cancel.NOT_FOUND


def test_a_message_being_sent_is_not_cancelled(
    pipeline: Pipeline, canceller: Canceller, store: MemoryMessageStore
) -> None:
    pipeline.queue_request(sms("m-1"))
    store.claim("m-1", "2026-12-03T10:00:00.000Z", "2026-12-03T10:00:40.000Z")
    assert canceller.cancel("m-1").outcome is Cancel.IN_FLIGHT
    stored = store.get("m-1")
    assert stored is not None
    assert stored.status is Status.ACCEPTED


def test_the_send_mark_decides_a_race_with_a_dispatcher(
    pipeline: Pipeline, canceller: Canceller, store: MemoryMessageStore
) -> None:
    """The dispatcher claims just before the canceller's one write: the write is refused
    (its condition), and the read after it finds the message being sent."""
    pipeline.queue_request(sms("m-1"))
    end_waiting = store.end_waiting

    def claim_first(message_id: str, update: Any) -> Any:
        store.claim("m-1", "2026-12-03T10:00:00.000Z", "2026-12-03T10:00:40.000Z")
        return end_waiting(message_id, update)

    store.end_waiting = claim_first  # type: ignore[method-assign]
    assert canceller.cancel("m-1").outcome is Cancel.IN_FLIGHT
    assert store.messages["m-1"].status is Status.ACCEPTED


def test_on_the_read_path_too_the_send_mark_decides(
    pipeline: Pipeline, canceller: Canceller, store: MemoryMessageStore
) -> None:
    """When the one write cannot serve (a full history), the canceller reads and saves: a
    claim between its read and its save makes the save lose, and the next read sees it."""
    pipeline.queue_request(sms("m-1"))
    store.end_waiting = lambda *_: None  # type: ignore[method-assign]
    save = store.save

    def claim_first(before: Any, after: Any) -> bool:
        store.claim("m-1", "2026-12-03T10:00:00.000Z", "2026-12-03T10:00:40.000Z")
        store.save = save  # type: ignore[method-assign]
        return save(before, after)

    store.save = claim_first  # type: ignore[method-assign]
    assert canceller.cancel("m-1").outcome is Cancel.IN_FLIGHT
    assert store.messages["m-1"].status is Status.ACCEPTED


def test_a_campaign_is_cancelled_whole_and_what_comes_later_too(
    pipeline: Pipeline, canceller: Canceller, store: MemoryMessageStore, channel: Accepting
) -> None:
    assert pipeline.deliver(sms("sent", campaign="spring")) is Result.SUBMITTED
    for n in range(5):
        pipeline.queue_request(sms(f"w{n}", campaign="spring"), sqs_id=str(n))
    pipeline.queue_request(sms("other", campaign="autumn"), sqs_id="o")
    # One is being sent when the command runs; its send settles meanwhile (it comes back).
    store.claim("w0", "2026-12-03T10:00:00.000Z", "2026-12-03T10:00:40.000Z")

    def settle(_: float) -> None:
        claimed = store.get("w0")
        assert claimed is not None
        store.messages["w0"] = replace(claimed, send_started_at=None)

    canceller = Canceller(store=store, campaigns=store, sleep=settle)
    summary = canceller.cancel_campaign("spring", in_turn)
    assert (summary.cancelled, summary.too_late, summary.in_flight_left) == (
        5,
        {"submitted": 1},
        [],
    )
    # Queued after the command: cancelled at intake. Claimed after it: cancelled, unsent.
    pipeline.queue_request(sms("late", campaign="spring"), sqs_id="late")
    late = store.get("late")
    assert late is not None
    assert late.status is Status.CANCELLED
    assert pipeline.dispatch(LANE).outcomes == {
        "other": Result.SUBMITTED,
        **{f"w{n}": Result.DUPLICATE for n in range(5)},
    }
    assert channel.sent == ["sent", "other"]


def test_a_campaign_message_claimed_after_the_cancel_is_not_sent(
    pipeline: Pipeline, store: MemoryMessageStore, channel: Accepting
) -> None:
    pipeline.queue_request(sms("m-1", campaign="spring"))
    store.mark_cancelled("spring", "2026-12-03T10:00:00.000Z")
    assert pipeline.dispatch(LANE).outcomes == {"m-1": Result.CANCELLED}
    assert channel.sent == []
    stored = store.get("m-1")
    assert stored is not None
    assert (stored.status, stored.send_started_at) == (Status.CANCELLED, None)


class CountedMarks:
    def __init__(self) -> None:
        self.cancelled_campaigns: set[str] = set()
        self.reads = 0

    def cancelled(self, campaign: str) -> bool:
        self.reads += 1
        return campaign in self.cancelled_campaigns


def test_a_dispatcher_reads_a_campaign_mark_once_a_second_and_a_cancel_for_good() -> None:
    marks, now = CountedMarks(), [0.0]
    recent = RecentCampaignMarks(marks, fresh_for=1.0, clock=lambda: now[0])
    assert [recent.cancelled("spring") for _ in range(100)] == [False] * 100
    assert marks.reads == 1
    marks.cancelled_campaigns.add("spring")
    now[0] = 0.9
    assert recent.cancelled("spring") is False  # a read under a second old
    now[0] = 1.0
    assert recent.cancelled("spring") is True
    marks.cancelled_campaigns.clear()  # never happens: shows the cancel is not read again
    now[0] = 60.0
    assert recent.cancelled("spring") is True
    assert marks.reads == 2
