"""One contract for both lane queues: the DynamoDB one and the in-memory fake."""

from collections.abc import Iterator

import pytest

from gateway.aws.queue_store import QueueStore
from gateway.core.store import LaneQueue, QueueEntry
from tests.fakes import MemoryLaneQueue


@pytest.fixture(params=["memory", "dynamodb"])
def queue(request: pytest.FixtureRequest) -> Iterator[LaneQueue]:
    if request.param == "memory":
        yield MemoryLaneQueue()
        return
    request.getfixturevalue("aws")
    yield QueueStore("messages")


def entry(rank: int, at: str, message_id: str, lane: str = "orange-sms:a") -> QueueEntry:
    return QueueEntry(lane, message_id, f"{rank}#2026-12-03T10:00:{at}.000Z#{message_id}")


def test_a_lane_is_read_by_priority_then_age(queue: LaneQueue) -> None:
    bulk_old, normal, high_new, high_old = (
        entry(2, "00", "b1"),
        entry(1, "05", "n1"),
        entry(0, "09", "h2"),
        entry(0, "07", "h1"),
    )
    for e in (bulk_old, normal, high_new, high_old, entry(0, "01", "x", lane="orange-sms:b")):
        queue.push(e)
    queue.push(high_old)  # again: still one entry
    assert queue.ready("orange-sms:a", 10) == [high_old, high_new, normal, bulk_old]
    assert queue.ready("orange-sms:a", 1) == [high_old]
    queue.remove(high_old)
    assert queue.ready("orange-sms:a", 1) == [high_new]
    assert [e.message_id for e in queue.ready("orange-sms:b", 10)] == ["x"]


def test_entries_due_later_become_ready_when_due(queue: LaneQueue) -> None:
    soon, later = entry(1, "00", "s"), entry(0, "00", "l")
    queue.push(later, due_at="2026-12-24T09:00:00.000Z")
    queue.push(soon, due_at="2026-12-03T11:00:00.000Z")
    assert queue.next_due("orange-sms:a") == "2026-12-03T11:00:00.000Z"
    assert queue.promote("orange-sms:a", "2026-12-03T10:59:59.999Z", 10) == 0
    assert queue.ready("orange-sms:a", 10) == []
    assert queue.promote("orange-sms:a", "2026-12-03T11:00:00.000Z", 10) == 1
    assert queue.ready("orange-sms:a", 10) == [soon]
    assert queue.next_due("orange-sms:a") == "2026-12-24T09:00:00.000Z"
    assert queue.next_due("orange-sms:b") is None
