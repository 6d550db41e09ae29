"""How a carrier call failed, in the terms the sender acts on, whatever the carrier.

The line that matters most is between a failure that proves nothing was sent (connection
refused, a 5xx, a refusal before the call) and one that does not (the request went out and
no answer came back): the first is retried, the second never is, so nothing is sent twice.
"""

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
