"""The sender's retry policy, whole: which failed sends come back, when, and when a message
stops waiting.

- A carrier failure that proves nothing was sent (a 5xx that proves it, connection refused, no
  token...) comes back after a backoff of 10 s, 20 s, 40 s ... 15 minutes; each counts in the
  message's attempts (the status API shows them).
- A held account (contract expired, bundle empty) and a used-up rate allowance are waits, not
  failures: 15 minutes and 2 seconds, the attempts kept.
- Whatever it waits for, a message waits until its validity (`validFor`) runs out or, without
  one, the longest wait (`SendMaxWaitSeconds`, 24 h by default, counted from when it was
  queued, or due when scheduled): then it ends `expired`, the last failure in its reason. No
  count of attempts ends a message: an outage of minutes burns attempts, and must only delay.

The sender turns the decision into the time the message waits in its lane until
(`gateway.core.sending.Later`), never past the message's deadline.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.carrier_errors import AccountBlocked, CarrierError, Throttled
from gateway.core.model import Message, utc_text
from gateway.core.status import Status

BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 900
HELD_ACCOUNT_DELAY = 900
THROTTLED_DELAY = 2
# How long a message without validFor may wait to be handed to the carrier.
DEFAULT_MAX_WAIT_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Nothing was sent: try again after `delay` seconds. A `counted` retry adds to the
    message's attempts (the carrier failed); a wait (held account, rate used up) does not."""

    reason: str
    delay: int
    counted: bool


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> int:
    """10 s, 20 s, 40 s ... capped at 15 minutes, with jitter so retries do not stampede."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    jitter = (rng or random.Random()).uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto  # nosec B311
    return min(BACKOFF_CAP_SECONDS, int(base * jitter))


@dataclass(frozen=True, slots=True)
class GiveUp:
    """The message ends here instead of coming back: `expired` (its validity, or the longest
    a message may wait, ran out)."""

    status: Status
    reason: str


class RetryPolicy:
    def __init__(self, max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS) -> None:
        self.max_wait = timedelta(seconds=max_wait_seconds)

    def after_failure(
        self, message: Message, failure: CarrierError, now: str
    ) -> RetryLater | GiveUp:
        """When a send that sent nothing comes back, or how the message ends."""
        expired = self._expired(message, now)
        if expired is not None:
            return GiveUp(Status.EXPIRED, f"{expired} (last: {failure})")
        if isinstance(failure, AccountBlocked):
            return RetryLater(str(failure), HELD_ACCOUNT_DELAY, counted=False)
        if isinstance(failure, Throttled):
            return RetryLater(str(failure), THROTTLED_DELAY, counted=False)
        return RetryLater(str(failure), backoff_seconds(message.attempts), counted=True)

    def deadline(self, message: Message) -> str:
        """When the message stops waiting: its validity's end, or the longest wait's."""
        longest = utc_text(_waiting_since(message) + self.max_wait)
        return min(message.expires_at, longest) if message.expires_at else longest

    def _expired(self, message: Message, now: str) -> str | None:
        """Why a message that keeps waiting (failures, holds, throttling) must wait no more."""
        if message.expires_at is not None and message.expires_at <= now:
            return f"not handed to the carrier within its validity (expired {message.expires_at})"
        if datetime.fromisoformat(now) - _waiting_since(message) >= self.max_wait:
            hours = self.max_wait.total_seconds() / 3600
            return f"not handed to the carrier within the longest wait allowed ({hours:g} h)"
        return None


def _waiting_since(message: Message) -> datetime:
    """When the message was queued, or due when scheduled."""
    return datetime.fromisoformat(max(message.created_at, message.send_at or ""))
