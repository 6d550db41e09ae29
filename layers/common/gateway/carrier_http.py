"""What every carrier's HTTP client shares: the base URL, one session reused across calls
(connections stay open while the container is warm), timeouts on every call, and the line
between a failure that proves nothing was sent and one that does not, for a transport failure
and for a server's error answer alike."""

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from gateway.core.carrier_errors import CarrierError, OutcomeUnknown, Unavailable

CONNECT_TIMEOUT = 3.05  # just over a TCP retransmission window, as requests advises
READ_TIMEOUT = 10.0


class HttpApi:
    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self._base = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout


def never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so the carrier cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def transport_error(carrier: str, exc: requests.RequestException) -> CarrierError:
    """A requests failure for a call that sends something."""
    if never_sent(exc):
        return Unavailable(f"{carrier} unreachable: {type(exc).__name__}")
    return OutcomeUnknown(f"no answer from {carrier}: {type(exc).__name__}")


# The server errors answered before the request is processed: a rate limit (429) and a
# service unavailable (503; Orange's code 5 "temporarily unavailable"). Any other 5xx may
# come after the carrier took the request: a backend failing once it processed it (500), an
# API front whose upstream failed (502) or timed out (504) while the carrier went on.
NOTHING_TAKEN = frozenset({429, 503})


def answer_error(status: int, detail: str) -> CarrierError:
    """A 5xx or 429 answer to a call that sends something; `detail` is the answer's reason."""
    if status in NOTHING_TAKEN:
        return Unavailable(detail)
    return OutcomeUnknown(f"{detail}: the carrier may have taken it")
