"""An MM7 MMSC over HTTP: posts a SubmitReq (built by `gateway.mm7.submit`) and turns the
answer into the accepted result or one of the outcomes of `gateway.core.carrier_errors`.

The line that matters: an answer that refuses the MM, an HTTP 4xx or 503 and a connection
never made all prove that nothing was taken (retried, or rejected for good on a 2xxx); a
request that left without a readable answer, or with a 5xx that may come after the MMSC took
it (a proxy's 502 or 504), proves nothing (outcome unknown, never resent).
"""

import requests
from requests.auth import HTTPBasicAuth

from gateway.carrier_http import answer_error, transport_error
from gateway.core.carrier_errors import CarrierError, OutcomeUnknown, Rejected, Unavailable
from gateway.mm7.submit import MalformedResponse, Outcome, SubmitResult, parse_submit_response

CARRIER = "MM7 MMSC"
CONNECT_TIMEOUT = 3.05
# A submit carries the MM's content, hundreds of kilobytes the MMSC receives and stores first.
READ_TIMEOUT = 15.0

_FAILURES: dict[Outcome, type[CarrierError]] = {
    Outcome.REJECTED: Rejected,
    Outcome.RETRY: Unavailable,
    Outcome.UNKNOWN: OutcomeUnknown,
}


class Mm7Client:
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
    ) -> None:
        self._url = url
        # Held only in the auth object, which requests turns into the header: no repr, no log.
        self._auth = HTTPBasicAuth(username, password)
        self._session = session or requests.Session()
        self._timeout = timeout

    def submit(self, content_type: str, body: bytes) -> SubmitResult:
        """Post one SubmitReq; the accepted result, its `message_id` set. Raises Rejected
        (2xxx), Unavailable (3xxx, 4xxx, HTTP 4xx or 503, no connection: nothing was taken) or
        OutcomeUnknown (the request left and no readable answer, or another 5xx, came)."""
        try:
            response = self._session.post(
                self._url,
                data=body,
                headers={"Content-Type": content_type, "SOAPAction": '""'},
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,  # a redirected POST would be resent, or turned into a GET
            )
        except requests.RequestException as exc:
            raise transport_error(CARRIER, exc) from exc
        result = _read(response)
        if result.outcome is Outcome.ACCEPTED:
            return result
        text = f": {result.status_text}" if result.status_text else ""
        raise _FAILURES[result.outcome](f"{CARRIER} {result.status_code}{text}")


def _read(response: requests.Response) -> SubmitResult:
    """A 2xx carries a SubmitRsp, a 500 may carry a Fault (SOAP 1.1 §6.2), read by its MM7
    StatusCode. Any other answer is HTTP's: a 4xx (401, ...) refused the request, a 5xx goes by
    what its status proves (`answer_error`), as does a 500 without a readable Fault."""
    status = response.status_code
    answered = 200 <= status < 300
    heading = f"{CARRIER} HTTP {status}"
    if not (answered or status == 500):
        detail = f"{heading} {response.reason or ''}".rstrip()
        raise answer_error(status, detail) if status >= 500 else Unavailable(detail)
    try:
        return parse_submit_response(response.headers.get("Content-Type"), response.content)
    except MalformedResponse as exc:
        if answered:
            # The MMSC took the request and said something unreadable: it may have taken the MM.
            raise OutcomeUnknown(f"{heading}: {exc}") from exc
        raise answer_error(status, f"{heading}: {exc}") from exc
