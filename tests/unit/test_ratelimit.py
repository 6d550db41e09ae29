"""The shared rate limiter: no sliding one-second window ever holds more than the rate."""

import threading
from bisect import bisect_left
from typing import TYPE_CHECKING, Any, ClassVar, cast

import boto3
import pytest

from gateway.aws.ratelimit import COUNTER, COUNTER_SK, RateBudgetExceeded, SlotRateLimiter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.usefixtures("aws")


class VirtualClock:
    """Time that moves only when someone sleeps, plus a little per call (DynamoDB latency)."""

    def __init__(self, step: float = 0.002) -> None:
        self.now = 1_000_000.0
        self.step = step
        self.lock = threading.Lock()

    def time(self) -> float:
        with self.lock:
            self.now += self.step
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max(i - bisect_left(times, t - window + 1e-9) + 1 for i, t in enumerate(times))


def test_sequential_sends_stay_under_the_rate_and_use_it() -> None:
    clock = VirtualClock()
    limiter = SlotRateLimiter("messages", "acct", 5.0, clock=clock.time, sleep=clock.sleep)
    sends = []
    for _ in range(100):
        limiter.acquire(max_wait=25)
        sends.append(clock.time())
    assert max_in_window(sends) <= 5
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    assert rate > 4.75


class RecordingLimiter(SlotRateLimiter):
    """Keeps the first slot of every take, to check that no two callers share one."""

    taken: ClassVar[list[int]] = []
    lock = threading.Lock()

    def _take(self, span: int, give_up: float, cost: int) -> int:
        first = super()._take(span, give_up, cost)
        with self.lock:
            self.taken.append(first)
        return first


def counter(account: str) -> int | None:
    item = (
        SlotRateLimiter("messages", account, 5.0)
        ._client.get_item(
            TableName="messages", Key={"pk": {"S": f"RATE#{account}"}, "sk": {"S": COUNTER_SK}}
        )
        .get("Item")
    )
    return None if item is None else int(item[COUNTER]["N"])


def set_counter(account: str, value: int) -> None:
    SlotRateLimiter("messages", account, 5.0)._client.put_item(
        TableName="messages",
        Item={
            "pk": {"S": f"RATE#{account}"},
            "sk": {"S": COUNTER_SK},
            COUNTER: {"N": str(value)},
        },
    )


class AtomicRequests:
    """A DynamoDB client whose requests apply one at a time, as DynamoDB applies each request
    to an item atomically; moto in this process would interleave the threads' requests."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def atomic(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return atomic


def test_six_senders_share_one_allowance() -> None:
    clock = VirtualClock(step=0.0)
    RecordingLimiter.taken = []
    client = cast("DynamoDBClient", AtomicRequests(boto3.client("dynamodb")))

    def sender() -> None:
        limiter = RecordingLimiter(
            "messages", "acct", 5.0, client=client, clock=clock.time, sleep=clock.sleep
        )
        for _ in range(20):
            limiter.acquire(max_wait=600)

    threads = [threading.Thread(target=sender) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = sorted(RecordingLimiter.taken)
    # Virtual time is shared and jumps on every sleep, so look at the slots, not the send
    # times (and a sender may wake "late" and take another): never one slot twice.
    assert len(taken) == len(set(taken)) >= 120
    assert counter("acct") == taken[-1] + 1


def test_a_counter_left_behind_by_an_idle_spell_starts_again_from_now() -> None:
    clock = VirtualClock(step=0.0)
    limiter = SlotRateLimiter("messages", "idle", 5.0, clock=clock.time, sleep=clock.sleep)
    set_counter("idle", 7)
    start = clock.now

    limiter.acquire(max_wait=5)

    assert clock.now - start <= limiter.slot_seconds
    assert counter("idle") == round(clock.now / limiter.slot_seconds) + 1


def test_a_queue_longer_than_the_wait_takes_no_slot() -> None:
    clock = VirtualClock(step=0.0)
    limiter = SlotRateLimiter("messages", "busy", 5.0, clock=clock.time, sleep=clock.sleep)
    ahead = int(clock.now / limiter.slot_seconds) + 100  # 20 s of taken slots
    set_counter("busy", ahead)

    with pytest.raises(RateBudgetExceeded):
        limiter.acquire(max_wait=5)

    assert counter("busy") == ahead


def test_accounts_do_not_share_slots() -> None:
    clock_a, clock_b = VirtualClock(step=0.0), VirtualClock(step=0.0)
    a = SlotRateLimiter("messages", "a", 5.0, clock=clock_a.time, sleep=clock_a.sleep)
    b = SlotRateLimiter("messages", "b", 5.0, clock=clock_b.time, sleep=clock_b.sleep)
    for _ in range(5):
        a.acquire(max_wait=5)
        b.acquire(max_wait=5)
        assert clock_a.now == clock_b.now  # each got the same slot of its own account


def test_a_caller_that_cannot_wait_long_enough_is_told_so() -> None:
    clock = VirtualClock()
    limiter = SlotRateLimiter("messages", "acct", 1.0, clock=clock.time, sleep=clock.sleep)
    limiter.acquire(max_wait=5)
    with pytest.raises(RateBudgetExceeded):
        SlotRateLimiter(
            "messages", "acct", 1.0, clock=lambda: clock.now, sleep=clock.sleep
        ).acquire(max_wait=0.1)


def test_a_request_costing_three_units_takes_five_slots_and_goes_in_the_middle() -> None:
    clock = VirtualClock(step=0.0)
    limiter = SlotRateLimiter("messages", "seg", 5.0, clock=clock.time, sleep=clock.sleep)
    start = clock.now
    limiter.acquire(max_wait=10, cost=1)
    first = counter("seg")
    assert first is not None

    limiter.acquire(max_wait=10, cost=3)

    assert counter("seg") == first + 5
    assert clock.now == pytest.approx((first + 2) * limiter.slot_seconds)
    assert clock.now > start
