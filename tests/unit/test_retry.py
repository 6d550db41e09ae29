"""The retry policy, in one place: what comes back, when, and whether it counts."""

import random

import pytest

from gateway.core.carrier_errors import AccountBlocked, Throttled, Unavailable
from gateway.core.retry import (
    BACKOFF_CAP_SECONDS,
    HELD_ACCOUNT_DELAY,
    THROTTLED_DELAY,
    RetryPolicy,
    backoff_seconds,
)


@pytest.mark.parametrize(
    ("failure", "delay"),
    [(AccountBlocked("no units"), HELD_ACCOUNT_DELAY), (Throttled("403 code 53"), THROTTLED_DELAY)],
)
def test_holds_and_throttling_wait_without_using_an_attempt(failure: Exception, delay: int) -> None:
    # Even past the last attempt: a wait is not a failure.
    retry = RetryPolicy(max_attempts=3).after_failure("m-1", failure, receive_count=9)  # type: ignore[arg-type]
    assert retry is not None
    assert (retry.message_id, retry.delay, retry.counted, str(retry)) == (
        "m-1",
        delay,
        False,
        str(failure),
    )


def test_a_carrier_failure_counts_and_backs_off_until_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=3)
    first = policy.after_failure("m-1", Unavailable("Orange 503"), receive_count=1)
    second = policy.after_failure("m-1", Unavailable("Orange 503"), receive_count=2)
    assert first is not None
    assert second is not None
    assert first.counted
    assert second.counted
    assert 8 <= first.delay <= 12
    assert 16 <= second.delay <= 24
    assert policy.after_failure("m-1", Unavailable("Orange 503"), receive_count=3) is None


def test_backoff_doubles_with_jitter_and_stops_at_fifteen_minutes() -> None:
    rng = random.Random(1)  # noqa: S311 - jitter drawn the same way on every run
    delays = [backoff_seconds(count, rng) for count in range(1, 12)]
    assert all(0.8 * 10 * 2 ** (n - 1) <= d for n, d in enumerate(delays[:6], start=1))
    assert max(delays) <= BACKOFF_CAP_SECONDS
    assert delays[-1] >= 0.8 * BACKOFF_CAP_SECONDS


def test_another_sender_is_waited_for_until_its_lease_ran_out() -> None:
    retry = RetryPolicy.while_another_sends("m-1", lease_left=12.2)
    assert (retry.delay, retry.counted) == (14, False)
