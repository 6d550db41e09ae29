"""Orange's SMS API over HTTP: the OAuth v3 token and the outbound SMS request
(seeds: orange-sms-api-mea.txt, orange-sms-api-mali.txt).

Every answer is turned into one of the outcomes of `gateway.core.carrier_errors`, plus the two
Orange-specific ones the sender handles itself: a refused token and the rate limit.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from gateway.carrier_http import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    HttpApi,
    answer_error,
    transport_error,
)
from gateway.core.carrier_errors import (
    AccountBlocked,
    CarrierError,
    OutcomeUnknown,
    Rejected,
    Unavailable,
)

# The offers (contracts) an account may hold per country: on-net SMS are sent with SMS_OCB2.
STANDARD_OFFER = "SMS_OCB"
ON_NET_OFFER = "SMS_OCB2"
TOKEN_PATH = "/oauth/v3/token"  # noqa: S105 - a URL path, not a secret  # nosec B105
CODE_TOO_MANY_REQUESTS = 53
OUTBOUND = "/smsmessaging/v1/outbound"


# The carrier-neutral outcomes, re-exported: the sender acts on those.
__all__ = ["AccountBlocked", "OutcomeUnknown", "Rejected", "Unavailable"]


class TokenRejected(CarrierError):
    """401: the token expired (code 42) or is not valid any more; get a new one."""


class RateLimited(CarrierError):
    """403 code 53: over the account's requests per second; wait, nothing was sent."""


class CredentialsRejected(Unavailable):
    """The token endpoint refused the client credentials: a configuration problem."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    expires_at: float
    lifetime: float

    def remaining(self, now: float) -> float:
        return self.expires_at - now


def outbound_path(sender_number: str, resource: str) -> str:
    """A resource under a sender number: tel:+ is URL-encoded in the path, as the seeds show
    (`/smsmessaging/v1/outbound/tel%3A%2B2250000/requests`)."""
    return f"{OUTBOUND}/{quote('tel:+' + sender_number, safe='')}/{resource}"


@dataclass(frozen=True, slots=True)
class OutboundSms:
    sender_number: str  # international digits, no + (the seeds' country_sender_number)
    recipient: str  # +digits
    text: str
    sender_name: str | None = None
    on_net: bool = False

    def path(self) -> str:
        return outbound_path(self.sender_number, "requests")

    def body(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "address": f"tel:{self.recipient}",
            "senderAddress": f"tel:+{self.sender_number}",
            "outboundSMSTextMessage": {"message": self.text},
        }
        if self.sender_name:
            request["senderName"] = self.sender_name
        return {"outboundSMSMessageRequest": request}


class OrangeClient(HttpApi):
    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        token_path: str = TOKEN_PATH,
    ) -> None:
        super().__init__(base_url, session, timeout)
        self._token_path = token_path

    def fetch_token(self, client_id: str, client_secret: str) -> AccessToken:
        """Client-credentials grant with HTTP Basic auth; `expires_in` may be text or a number."""
        issued = time.time()
        response = self._post(
            self._token_path,
            auth=(client_id, client_secret),
            data={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"},
            idempotent=True,
        )
        if response.status_code in (400, 401):
            raise CredentialsRejected(describe(response))
        _raise_for_server_error(response, idempotent=True)
        payload = json_body(response)
        try:
            lifetime = float(payload["expires_in"])
            return AccessToken(str(payload["access_token"]), issued + lifetime, lifetime)
        except (KeyError, TypeError, ValueError) as exc:
            raise Unavailable(f"Orange token response unreadable: {exc!r}") from exc

    def send_sms(self, token: str, sms: OutboundSms) -> str:
        """Send one SMS; Orange's resource id on success."""
        params = {"resource_type_parameter_management": ON_NET_OFFER} if sms.on_net else None
        response = self._post(
            sms.path(),
            json=sms.body(),
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            idempotent=False,
        )
        status = response.status_code
        if status == 201:
            return _resource_id(response)
        if status == 401:
            raise TokenRejected(describe(response))
        if status == 403:
            payload = json_body(response)
            if payload.get("code") == CODE_TOO_MANY_REQUESTS:
                raise RateLimited(describe(response))
            if "policyException" in payload.get("requestError", {}):
                raise AccountBlocked(describe(response))
        _raise_for_server_error(response, idempotent=False)
        raise Rejected(describe(response))

    def _post(self, path: str, *, idempotent: bool, **kwargs: Any) -> requests.Response:
        try:
            return self._session.post(
                self._base + path, timeout=self._timeout, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            if idempotent:
                raise Unavailable(f"Orange unreachable: {type(exc).__name__}") from exc
            raise transport_error("Orange", exc) from exc


def _raise_for_server_error(response: requests.Response, *, idempotent: bool) -> None:
    """A 5xx or 429: only retried for a call that can simply be made again (a token); a send
    goes by what the status proves, since a 502 or 504 may come after Orange took the SMS."""
    status = response.status_code
    if status >= 500 or status == 429:
        detail = describe(response)
        raise Unavailable(detail) if idempotent else answer_error(status, detail)


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _resource_id(response: requests.Response) -> str:
    """The id at the end of resourceURL (or of the Location header)."""
    request = json_body(response).get("outboundSMSMessageRequest", {})
    url = request.get("resourceURL") if isinstance(request, dict) else None
    url = url or response.headers.get("Location", "")
    resource_id = str(url).rstrip("/").rsplit("/", 1)[-1]
    if not resource_id or resource_id == "requests":
        # Accepted without an id: the SMS is out, receipts just cannot be correlated.
        return f"unidentified-{uuid.uuid4()}"
    return resource_id


def describe(response: requests.Response) -> str:
    """The reason an Orange API answer gives, in one line, never a token:
    `Orange 400 SVC0002: Invalid input value for message part senderName`."""
    payload = json_body(response)
    if "code" in payload:
        detail = f"code {payload['code']}: {payload.get('message', '')}".strip()
        if payload.get("description"):
            detail += f" ({payload['description']})"
    elif isinstance(payload.get("requestError"), dict) and payload["requestError"]:
        kind, body = next(iter(payload["requestError"].items()))
        body = body if isinstance(body, dict) else {}
        text = str(body.get("text", kind))
        variables = body.get("variables")
        if isinstance(variables, list):
            variables = ", ".join(map(str, variables))
        if variables:
            text = text.replace("%1", str(variables)) if "%1" in text else f"{text} ({variables})"
        detail = f"{body.get('messageId', kind)}: {text}"
    elif "error" in payload:
        detail = f"{payload['error']}: {payload.get('error_description', '')}".rstrip(": ")
    else:
        detail = response.reason or "no detail"
    return f"Orange {response.status_code} {detail}"
