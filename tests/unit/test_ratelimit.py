"""The shared rate limiter: no sliding one-second window ever holds more than the rate."""

import threading
from bisect import bisect_left

import pytest

from gateway.ratelimit import RateBudgetExceeded, SlotRateLimiter

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


def test_three_senders_share_one_allowance() -> None:
    clock = VirtualClock(step=0.0)
    sends: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        limiter = SlotRateLimiter("messages", "acct", 5.0, clock=clock.time, sleep=clock.sleep)
        for _ in range(20):
            limiter.acquire(max_wait=60)
            with lock:
                sends.append(clock.time())

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sends) == 60
    # Virtual time is shared and jumps on sleeps, so count claimed slots instead of send times.
    items = SlotRateLimiter("messages", "acct", 5.0)._client.query(
        TableName="messages",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "RATE#acct"}},
    )["Items"]
    slots = sorted(int(item["sk"]["S"].removeprefix("SLOT#")) for item in items)
    assert len(slots) == len(set(slots)) >= 60


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


def test_a_request_costing_three_units_claims_five_slots_and_goes_in_the_middle() -> None:
    clock = VirtualClock(step=0.0)
    limiter = SlotRateLimiter("messages", "seg", 5.0, clock=clock.time, sleep=clock.sleep)
    start = clock.now
    limiter.acquire(max_wait=10, cost=3)
    items = limiter._client.query(
        TableName="messages",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "RATE#seg"}},
    )["Items"]
    slots = sorted(int(item["sk"]["S"].removeprefix("SLOT#")) for item in items)
    assert len(slots) == 5
    assert slots == list(range(slots[0], slots[0] + 5))
    assert clock.now == pytest.approx(slots[2] * limiter.slot_seconds)
    assert clock.now > start
