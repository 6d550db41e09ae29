"""The sender's retry policy, whole: which failed sends come back, when, and whether the
attempt counts towards giving up.

- A carrier failure that proves nothing was sent (5xx, connection refused, no token...) is a
  counted retry: backoff of 10 s, 20 s, 40 s ... 15 minutes, then `failed` once the request
  was delivered `max_attempts` times.
- A held account (contract expired, bundle empty) and a used-up rate allowance are waits,
  not failures: the request is queued anew after a delay and keeps its attempts, until its
  validity (`validFor`) or, without one, the longest hold (24 h by default) runs out: then it
  ends `expired`.

The sender turns the decision into the time the message waits in its lane until
(`gateway.core.sending.Later`).
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.carrier_errors import AccountBlocked, CarrierError, Throttled
from gateway.core.model import Message
from gateway.core.status import Status

BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 900  # well under SQS's 12-hour visibility limit
HELD_ACCOUNT_DELAY = 900
THROTTLED_DELAY = 2
# How long a message without validFor may wait for a held or throttled account.
DEFAULT_MAX_HOLD_SECONDS = 24 * 3600


class RetryLater(Exception):
    """Nothing was sent; deliver the request again after `delay` seconds.

    A `counted` retry uses one of the request's attempts (the carrier failed): the queue
    delivers it again. One that is not (the account is held, the rate is used up, another
    invocation is sending) must not move the request closer to the dead-letter queue: it is
    queued anew under `message_id` instead.
    """

    def __init__(self, reason: str, *, message_id: str, delay: int, counted: bool) -> None:
        super().__init__(reason)
        self.message_id = message_id
        self.delay = delay
        self.counted = counted


def backoff_seconds(receive_count: int, rng: random.Random | None = None) -> int:
    """10 s, 20 s, 40 s ... capped at 15 minutes, with jitter so retries do not stampede."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, receive_count - 1))
    jitter = (rng or random.Random()).uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto  # nosec B311
    return min(BACKOFF_CAP_SECONDS, int(base * jitter))


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The message ends here instead of coming back: `failed` (out of attempts) or `expired`
    (its validity, or the longest a held message may wait, ran out)."""

    status: Status
    reason: str


class RetryPolicy:
    def __init__(
        self, max_attempts: int, max_hold_seconds: float = DEFAULT_MAX_HOLD_SECONDS
    ) -> None:
        self.max_attempts = max_attempts
        self.max_hold = timedelta(seconds=max_hold_seconds)

    def after_failure(
        self, message: Message, failure: CarrierError, receive_count: int, now: str
    ) -> RetryLater | GiveUp:
        """When a send that sent nothing comes back, or how the message ends."""
        if isinstance(failure, AccountBlocked | Throttled):
            expired = self._expired(message, now)
            if expired is not None:
                return GiveUp(Status.EXPIRED, f"{expired} ({failure})")
            delay = HELD_ACCOUNT_DELAY if isinstance(failure, AccountBlocked) else THROTTLED_DELAY
            return RetryLater(str(failure), message_id=message.id, delay=delay, counted=False)
        if receive_count >= self.max_attempts:
            return GiveUp(Status.FAILED, f"gave up after {receive_count} attempts: {failure}")
        return RetryLater(
            str(failure),
            message_id=message.id,
            delay=backoff_seconds(receive_count),
            counted=True,
        )

    def _expired(self, message: Message, now: str) -> str | None:
        """Why a message that keeps waiting (held, throttled) must not wait any longer."""
        if message.expires_at is not None and message.expires_at <= now:
            return f"not handed to the carrier within its validity (expired {message.expires_at})"
        held_since = datetime.fromisoformat(message.created_at)
        if datetime.fromisoformat(now) - held_since >= self.max_hold:
            hours = self.max_hold.total_seconds() / 3600
            return f"held longer than the longest wait allowed ({hours:g} h)"
        return None
