"""A lane's dispatcher: priority order, one dispatcher per lane, nothing sent twice, wake-ups
that are never lost, and the minute's tick."""

import json
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from gateway.aws.threads import run_traced
from gateway.core.dispatching import Dispatcher
from gateway.core.model import utc_now
from gateway.core.retry import RetryPolicy
from gateway.core.send_request import SmsRequest
from gateway.core.sending import Prepared, Result, Sender
from gateway.core.status import Status
from gateway.core.store import QueueEntry
from gateway.core.tracking import StatusTracker
from tests.fakes import MemoryLaneQueue, MemoryMessageStore
from tests.pipeline import FreeLease, Pipeline, RecordedWakeups

LANE = "orange-sms:a"


class Recording:
    """A channel whose carrier takes everything, in one lane per recipient's last digit."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def prepare(self, request: SmsRequest) -> Prepared[str]:
        lane = "orange-sms:b" if request.to.endswith("9") else LANE
        return Prepared(
            channel="sms", to=request.to, provider="orange", lane=lane, route=request.id or ""
        )

    def send(self, prepared: Prepared[str], max_wait: float) -> str:
        with self.lock:
            self.sent.append(prepared.route)
        return f"ref-{prepared.route}"


def sms(message_id: str, priority: str = "normal", to: str = "+2250700000001") -> dict[str, Any]:
    return {"id": message_id, "channel": "sms", "to": to, "text": "x", "priority": priority}


def threaded_dispatcher(
    store: MemoryMessageStore,
    queue: MemoryLaneQueue,
    sender: Sender,
    *,
    workers: int,
    linger_seconds: float,
) -> Dispatcher:
    """A lane's dispatcher with real worker threads, a free lease and recorded wake-ups."""
    return Dispatcher(
        store=store,
        queue=queue,
        sender=sender,
        wakeup=RecordedWakeups(),
        lease=lambda lane: FreeLease(),
        workers=workers,
        linger_seconds=linger_seconds,
        runner=run_traced,
    )


@pytest.fixture
def channel() -> Recording:
    return Recording()


@pytest.fixture
def pipeline(channel: Recording) -> Pipeline:
    return Pipeline(store=MemoryMessageStore(), channels={"sms": channel})


def test_a_lane_sends_high_then_normal_then_bulk_each_oldest_first(
    pipeline: Pipeline, channel: Recording
) -> None:
    for message_id, priority in (
        ("b1", "bulk"),
        ("b2", "bulk"),
        ("n1", "normal"),
        ("h1", "high"),
        ("n2", "normal"),
        ("h2", "high"),
    ):
        pipeline.queue_request(sms(message_id, priority), sqs_id=message_id)
    assert pipeline.dispatch(LANE).results == {Result.SUBMITTED: 6}
    assert channel.sent == ["h1", "h2", "n1", "n2", "b1", "b2"]


def test_a_lane_dispatches_only_its_own_messages(pipeline: Pipeline, channel: Recording) -> None:
    pipeline.queue_request(sms("a1"), sqs_id="1")
    pipeline.queue_request(sms("b1", to="+2250700000009"), sqs_id="2")
    assert pipeline.dispatch("orange-sms:b").outcomes == {"b1": Result.SUBMITTED}
    assert channel.sent == ["b1"]
    assert pipeline.dispatch(LANE).outcomes == {"a1": Result.SUBMITTED}


def test_a_lane_taken_by_another_dispatcher_is_left_to_it(
    pipeline: Pipeline, channel: Recording
) -> None:
    pipeline.queue_request(sms("a1"))

    class Taken(FreeLease):
        def acquire(self) -> bool:
            return False

    pipeline.dispatcher._lease = lambda lane: Taken()
    round_ = pipeline.dispatch(LANE)
    assert round_.busy
    assert channel.sent == []
    assert [e.message_id for e in pipeline.queue.ready(LANE, 10)] == ["a1"]


def test_a_message_queued_while_the_dispatcher_lets_go_is_woken_for(
    pipeline: Pipeline, channel: Recording
) -> None:
    """It found the lease held and woke no one: the dispatcher, once it let go, does."""

    class LateArrival(FreeLease):
        def release(self) -> None:
            pipeline.queue_request(sms("late"), sqs_id="late")

    pipeline.dispatcher._lease = lambda lane: LateArrival()
    pipeline.queue_request(sms("first"), sqs_id="first")
    assert pipeline.dispatch(LANE).outcomes == {"first": Result.SUBMITTED}
    assert pipeline.wakeups.woken == [LANE]


def test_the_next_scheduled_message_sets_a_wake_up(pipeline: Pipeline) -> None:
    send_at = utc_now(after=timedelta(days=1))
    request = {**sms("later"), "sendAt": send_at}
    queued = pipeline.queue_request(request)
    assert (queued.lane, queued.due_at) == (LANE, send_at)
    pipeline.dispatch(LANE)
    assert pipeline.wakeups.timers == [(LANE, send_at)]


def test_nothing_is_claimed_without_the_time_to_send_it(
    pipeline: Pipeline, channel: Recording
) -> None:
    pipeline.queue_request(sms("a1"))
    round_ = pipeline.dispatcher.run(LANE, lambda: 20.0)  # under the claim reserve
    assert round_.outcomes == {}
    assert channel.sent == []
    stored = pipeline.store.get("a1")
    assert stored is not None
    assert stored.send_started_at is None
    assert pipeline.wakeups.woken == [LANE]  # still ready: the next invocation takes over


def test_a_cancelled_message_is_dropped_from_its_lane_unsent(
    pipeline: Pipeline, channel: Recording
) -> None:
    pipeline.queue_request(sms("a1"))
    before = pipeline.store.get("a1")
    assert before is not None
    cancelled = replace(before.progress, status=Status.CANCELLED)
    pipeline.store.save(before, replace(before, progress=cancelled))
    assert pipeline.dispatch(LANE).outcomes == {"a1": Result.DUPLICATE}
    assert channel.sent == []
    assert pipeline.queue.ready(LANE, 10) == []


def test_two_workers_send_each_message_once(channel: Recording) -> None:
    store, queue = MemoryMessageStore(), MemoryLaneQueue()
    tracker = StatusTracker(store)
    sender = Sender(tracker=tracker, channels={"sms": channel}, retry=RetryPolicy())
    dispatcher = threaded_dispatcher(store, queue, sender, workers=2, linger_seconds=0.05)
    pipeline = Pipeline(store=store, queue=queue, sender=sender, tracker=tracker)
    for n in range(40):
        pipeline.queue_request(sms(f"m{n:02d}"), sqs_id=str(n))
    round_ = dispatcher.run(LANE, lambda: 60.0)
    assert round_.results == {Result.SUBMITTED: 40}
    assert sorted(channel.sent) == [f"m{n:02d}" for n in range(40)]


def test_the_tick_wakes_lanes_with_messages_ready_or_due(pipeline: Pipeline) -> None:
    pipeline.queue_request(sms("a1"))
    pipeline.queue_request(
        {**sms("b1", to="+2250700000009"), "sendAt": "2026-01-01T00:00:00Z"}, sqs_id="b"
    )
    pipeline.queue_request({**sms("c1"), "sendAt": utc_now(after=timedelta(days=1))}, sqs_id="c")
    assert pipeline.dispatcher.tick([LANE, "orange-sms:b", "orange-sms:empty"]) == [
        LANE,
        "orange-sms:b",  # its sendAt is past: it is ready to go
    ]


def test_a_request_stored_with_the_message_is_what_is_sent(
    pipeline: Pipeline, channel: Recording
) -> None:
    pipeline.queue_request(sms("a1"))
    stored = pipeline.store.get("a1")
    assert stored is not None
    assert json.loads(stored.request or "")["id"] == "a1"


def test_an_idle_lane_is_read_once_per_poll_whatever_the_workers(channel: Recording) -> None:
    """Lingering workers take turns reading an empty lane: its reads (a DynamoDB Query each)
    do not multiply with the workers."""
    store, queue = MemoryMessageStore(), MemoryLaneQueue()
    reads: list[str] = []
    ready = queue.ready

    def counted(lane: str, limit: int) -> list[QueueEntry]:
        reads.append(lane)
        return ready(lane, limit)

    queue.ready = counted  # type: ignore[method-assign]
    sender = Sender(tracker=StatusTracker(store), channels={"sms": channel}, retry=RetryPolicy())
    dispatcher = threaded_dispatcher(store, queue, sender, workers=4, linger_seconds=0.5)
    dispatcher.run(LANE, lambda: 60.0)
    # About one read per 0.1 s poll over the 0.5 s linger (and one after): 4 workers each
    # polling would read about 20 times.
    assert len(reads) <= 10
