"""Orange Poland's MMSDeliveryStatus API: one MMS's status, and the account's call limit.

The API gateway speaks Orange's error dialect (401 code 41/42, 403 code 53), so the answers
map onto the Orange client's outcomes.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import requests

from gateway.carrier_http import HttpApi
from gateway.core.carrier_errors import Unavailable
from gateway.orange.client import (
    CODE_TOO_MANY_REQUESTS,
    RateLimited,
    TokenRejected,
    describe,
    json_body,
)

STATUS_PATH = "/Messaging/v1/MMSDeliveryStatus"
LIMIT_PATH = "/Messaging/v1/MMSDeliveryStatus/limit"  # the URI the seed states, not its typo
LIMIT_DATE_FORMAT = "%a %b %d %Y"  # the seed's "Tue Jun 30 2026" (JavaScript's toDateString)


@dataclass(frozen=True, slots=True)
class CallLimit:
    used: int
    available: int | None  # None: "unlimited"
    resets: datetime | None  # None: the answer's `date` is unreadable


def reset_moment(date: str) -> datetime | None:
    """When the counter resets, from the limit answer's `date` ("Date of reset counter of API
    usage"): taken as the end of that day in UTC, which is no earlier than its end in Poland,
    so an allowance spread until then never runs out before the reset."""
    try:
        day = datetime.strptime(date.strip(), LIMIT_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(days=1)


class OrangePlClient(HttpApi):
    def delivery_status(self, token: str, *, message_id: str) -> str:
        payload = self._get(token, f"{STATUS_PATH}?id={quote(message_id, safe='')}")
        status = payload.get("status")
        if not isinstance(status, str) or not status.strip():
            raise Unavailable("Orange PL status answer without a status")
        return status.strip()

    def call_limit(self, token: str) -> CallLimit:
        payload = self._get(token, LIMIT_PATH)
        available = str(payload.get("available", "")).strip()
        try:
            return CallLimit(
                used=int(str(payload.get("used", "0")).strip() or 0),
                available=None if available.lower() == "unlimited" else int(available),
                resets=reset_moment(str(payload.get("date", ""))),
            )
        except ValueError as exc:
            raise Unavailable(f"Orange PL limit answer unreadable: {payload}") from exc

    def _get(self, token: str, path: str) -> dict[str, object]:
        try:
            response = self._session.get(
                self._base + path,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # A status read sends nothing: any transport failure only delays the poll.
            raise Unavailable(f"Orange PL unreachable: {type(exc).__name__}") from exc
        if response.status_code == 200:
            return json_body(response)
        if response.status_code == 401:
            raise TokenRejected(describe(response))
        if (
            response.status_code == 403
            and json_body(response).get("code") == CODE_TOO_MANY_REQUESTS
        ):
            raise RateLimited(describe(response))
        raise Unavailable(describe(response))
