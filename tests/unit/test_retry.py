"""The retry policy, in one place: what comes back, when, whether it counts, and when a
message waiting for its account stops waiting."""

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
    # Even past the last attempt: a wait is not a failure.
    retry = RetryPolicy(max_attempts=3).after_failure(message(), failure, 9, SOON)
    assert isinstance(retry, RetryLater)
    assert (retry.message_id, retry.delay, retry.counted, str(retry)) == (
        "m-1",
        delay,
        False,
        str(failure),
    )


@pytest.mark.parametrize("failure", [AccountBlocked("no units"), Throttled("403 code 53")])
def test_a_held_message_expires_with_its_validity_or_after_the_longest_hold(
    failure: CarrierError,
) -> None:
    policy = RetryPolicy(max_attempts=3, max_hold_seconds=24 * 3600)
    valid = message(expires_at="2026-12-03T10:04:00.000Z")
    ended = policy.after_failure(valid, failure, 1, SOON)
    assert isinstance(ended, GiveUp)
    assert ended.status is Status.EXPIRED
    assert "validity" in ended.reason
    assert str(failure) in ended.reason
    held = policy.after_failure(message(), failure, 1, NEXT_DAY)
    assert isinstance(held, GiveUp)
    assert (held.status, held.reason) == (
        Status.EXPIRED,
        f"held longer than the longest wait allowed (24 h) ({failure})",
    )
    # Valid until tomorrow: still waiting now.
    assert isinstance(
        policy.after_failure(replace(valid, expires_at=NEXT_DAY), failure, 1, SOON), RetryLater
    )


def test_a_carrier_failure_counts_and_backs_off_until_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=3)
    first = policy.after_failure(message(), Unavailable("Orange 503"), 1, SOON)
    second = policy.after_failure(message(), Unavailable("Orange 503"), 2, SOON)
    assert isinstance(first, RetryLater)
    assert isinstance(second, RetryLater)
    assert first.counted
    assert second.counted
    assert 8 <= first.delay <= 12
    assert 16 <= second.delay <= 24
    last = policy.after_failure(message(), Unavailable("Orange 503"), 3, SOON)
    assert last == GiveUp(Status.FAILED, "gave up after 3 attempts: Orange 503")


def test_backoff_doubles_with_jitter_and_stops_at_fifteen_minutes() -> None:
    rng = random.Random(1)  # noqa: S311 - jitter drawn the same way on every run
    delays = [backoff_seconds(count, rng) for count in range(1, 12)]
    assert all(0.8 * 10 * 2 ** (n - 1) <= d for n, d in enumerate(delays[:6], start=1))
    assert max(delays) <= BACKOFF_CAP_SECONDS
    assert delays[-1] >= 0.8 * BACKOFF_CAP_SECONDS
