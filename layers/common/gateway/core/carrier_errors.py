"""How a carrier call failed, in the terms the sender acts on, whatever the carrier.

The line that matters most is between a failure that proves nothing was sent (connection
refused, a 429 or 503 answer, a refusal before the call) and one that does not (the request
went out and no answer, or an ambiguous one, came back): the first is retried, the second
never is, so nothing is sent twice.
"""

import time
from collections.abc import Callable


class CarrierError(Exception):
    """A carrier call that did not succeed; `str()` is a reason fit for a message's history."""


class Rejected(CarrierError):
    """A client error: the carrier will never accept this request as it is."""


class Unavailable(CarrierError):
    """The carrier could not take the request, or a step before the call failed: nothing was
    sent, retry later."""


class AccountBlocked(CarrierError):
    """The account may not send (contract expired, no units left): hold sends, do not fail."""


class Throttled(CarrierError):
    """Over the account's rate allowance: nothing was sent; wait, without using an attempt."""


class OutOfTime(Throttled):
    """Too little of the invocation is left to wait out a carrier call's longest time:
    nothing was sent; the message waits in its lane for the next dispatcher."""


class Deadline:
    """The time a send may take in all, carrier calls included: a call starts only when its
    longest time (connect and read timeouts) still fits, so Lambda never ends the invocation
    in the middle of it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends = clock() + seconds

    def left(self) -> float:
        return self._ends - self._clock()

    def require(self, seconds: float, what: str) -> float:
        """The time left after `seconds` of `what`; OutOfTime when they do not fit."""
        spare = self.left() - seconds
        if spare < 0:
            raise OutOfTime(
                f"{self.left():.1f}s left in this invocation, {what} may take {seconds:g}s"
            )
        return spare


class OutcomeUnknown(CarrierError):
    """The request left and no answer came back: the carrier may have taken it."""


def before_the_call[T](step: Callable[[], T]) -> T:
    """Run a step that precedes the carrier call (a token, a rate slot, reading content), so
    that whatever it raises is known to have sent nothing: retried, never marked unknown."""
    try:
        return step()
    except CarrierError:
        raise
    except Exception as exc:  # re-raised as sent-nothing: the cause stays chained
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
