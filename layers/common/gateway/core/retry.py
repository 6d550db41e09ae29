"""The sender's retry policy, whole: which failed sends come back, when, and whether the
attempt counts towards giving up.

- A carrier failure that proves nothing was sent (5xx, connection refused, no token...) is a
  counted retry: backoff of 10 s, 20 s, 40 s ... 15 minutes, then `failed` once the request
  was delivered `max_attempts` times.
- A held account (contract expired, bundle empty) and a used-up rate allowance are waits,
  not failures: the request is queued anew after a delay and keeps its attempts.
- Another invocation that may still be sending the message (its send mark is younger than an
  invocation can live) is waited for the same way.

The sender raises `RetryLater` with the decision; the handler only carries it out on the
queue (`gateway.aws.send_queue`).
"""

import math
import random

from gateway.core.carrier_errors import AccountBlocked, CarrierError, Throttled

BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 900  # well under SQS's 12-hour visibility limit
HELD_ACCOUNT_DELAY = 900
THROTTLED_DELAY = 2


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


class RetryPolicy:
    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts

    def after_failure(
        self, message_id: str, failure: CarrierError, receive_count: int
    ) -> RetryLater | None:
        """When a send that sent nothing comes back; None when it should end `failed`."""
        if isinstance(failure, AccountBlocked):
            return RetryLater(
                str(failure), message_id=message_id, delay=HELD_ACCOUNT_DELAY, counted=False
            )
        if isinstance(failure, Throttled):
            return RetryLater(
                str(failure), message_id=message_id, delay=THROTTLED_DELAY, counted=False
            )
        if receive_count >= self.max_attempts:
            return None
        return RetryLater(
            str(failure),
            message_id=message_id,
            delay=backoff_seconds(receive_count),
            counted=True,
        )

    @staticmethod
    def while_another_sends(message_id: str, lease_left: float) -> RetryLater:
        """Another invocation may still be sending the message: come back once its lease ran
        out, without using an attempt."""
        return RetryLater(
            "another invocation may still be sending it",
            message_id=message_id,
            delay=math.ceil(lease_left) + 1,
            counted=False,
        )
