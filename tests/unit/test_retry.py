"""The retry policy, in one place: what comes back, when, whether it counts, and when a
waiting message stops waiting (its validity or the longest wait, never a count)."""

import random
from dataclasses import replace

import pytest

from gateway.core.carrier_errors import AccountBlocked, CarrierError, Throttled, Unavailable
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.retry import (
    BACKOFF_CAP_SECONDS,
    HELD_ACCOUNT_DELAY,
    THROTTLED_DELAY,
    GiveUp,
    RetryLater,
    RetryPolicy,
    backoff_seconds,
)
from gateway.core.status import Status

CREATED = "2026-12-03T10:00:00.000Z"
SOON = "2026-12-03T10:05:00.000Z"
NEXT_DAY = "2026-12-04T10:00:00.000Z"


def message(**fields: object) -> Message:
    update = StatusUpdate(Status.ACCEPTED, CREATED, "gateway")
    return Message.new(id="m-1", channel="sms", to="+2250700000001", update=update, **fields)


@pytest.mark.parametrize(
    ("failure", "delay"),
    [(AccountBlocked("no units"), HELD_ACCOUNT_DELAY), (Throttled("403 code 53"), THROTTLED_DELAY)],
)
def test_holds_and_throttling_wait_without_using_an_attempt(
    failure: CarrierError, delay: int
) -> None:
    retry = RetryPolicy().after_failure(message(attempts=9), failure, SOON)
    assert retry == RetryLater(str(failure), delay, counted=False)


@pytest.mark.parametrize("failure", [AccountBlocked("no units"), Throttled("403 code 53")])
def test_a_waiting_message_expires_with_its_validity_or_after_the_longest_wait(
    failure: CarrierError,
) -> None:
    policy = RetryPolicy(max_wait_seconds=24 * 3600)
    valid = message(expires_at="2026-12-03T10:04:00.000Z")
    ended = policy.after_failure(valid, failure, SOON)
    assert isinstance(ended, GiveUp)
    assert ended.status is Status.EXPIRED
    assert "validity" in ended.reason
    assert str(failure) in ended.reason
    held = policy.after_failure(message(), failure, NEXT_DAY)
    assert held == GiveUp(
        Status.EXPIRED,
        f"not handed to the carrier within the longest wait allowed (24 h) (last: {failure})",
    )
    # Valid until tomorrow: still waiting now.
    assert isinstance(
        policy.after_failure(replace(valid, expires_at=NEXT_DAY), failure, SOON), RetryLater
    )


def test_a_scheduled_message_waits_the_longest_wait_from_when_it_was_due() -> None:
    policy = RetryPolicy(max_wait_seconds=24 * 3600)
    scheduled = message(send_at="2026-12-04T09:00:00.000Z")
    assert policy.deadline(scheduled) == "2026-12-05T09:00:00.000Z"
    assert isinstance(policy.after_failure(scheduled, Unavailable("503"), NEXT_DAY), RetryLater)
    # With a validity, whichever ends first.
    assert policy.deadline(replace(scheduled, expires_at=NEXT_DAY)) == NEXT_DAY


def test_a_carrier_failure_counts_and_backs_off_however_many_attempts() -> None:
    """No count of attempts ends a message: twenty failures in a row still come back."""
    policy = RetryPolicy()
    first = policy.after_failure(message(attempts=1), Unavailable("Orange 503"), SOON)
    second = policy.after_failure(message(attempts=2), Unavailable("Orange 503"), SOON)
    twentieth = policy.after_failure(message(attempts=20), Unavailable("Orange 503"), SOON)
    assert isinstance(first, RetryLater)
    assert isinstance(second, RetryLater)
    assert isinstance(twentieth, RetryLater)
    assert [first.counted, second.counted, twentieth.counted] == [True, True, True]
    assert 8 <= first.delay <= 12
    assert 16 <= second.delay <= 24
    assert twentieth.delay <= BACKOFF_CAP_SECONDS


def test_backoff_doubles_with_jitter_and_stops_at_fifteen_minutes() -> None:
    rng = random.Random(1)  # noqa: S311 - jitter drawn the same way on every run
    delays = [backoff_seconds(count, rng) for count in range(1, 12)]
    assert all(0.8 * 10 * 2 ** (n - 1) <= d for n, d in enumerate(delays[:6], start=1))
    assert max(delays) <= BACKOFF_CAP_SECONDS
    assert delays[-1] >= 0.8 * BACKOFF_CAP_SECONDS
