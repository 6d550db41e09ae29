"""Orange SMS API wire formats: request parsing, response and error bodies.

Field names and error shapes follow Orange's SMS API pages for Middle East & Africa
and Mali (shared/seeds/orange-sms-api-*.txt).
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from werkzeug.wrappers import Response

from infra.simulators._http import json_response

ON_NET_OFFER: Final = "SMS_OCB2"
"""`resource_type_parameter_management` value selecting the Orange-only (on-net) offer."""


@dataclass(frozen=True, slots=True)
class Country:
    iso3: str
    name: str
    calling_code: str
    currency: str


# The seeds' country table (MEA page plus Mali page's EGY and NER); currencies are ISO 4217.
COUNTRIES: Final = (
    Country("BWA", "Botswana", "267", "BWP"),
    Country("BFA", "Burkina Faso", "226", "XOF"),
    Country("CMR", "Cameroon", "237", "XAF"),
    Country("CIV", "Côte d'Ivoire", "225", "XOF"),
    Country("GIN", "Guinea Conakry", "224", "GNF"),
    Country("GNB", "Guinea Bissau", "245", "XOF"),
    Country("COD", "DR Congo", "243", "CDF"),
    Country("EGY", "Egypt", "20", "EGP"),
    Country("JOR", "Jordan", "962", "JOD"),
    Country("LBR", "Liberia", "231", "LRD"),
    Country("MLI", "Mali", "223", "XOF"),
    Country("MDG", "Madagascar", "261", "MGA"),
    Country("NER", "Niger", "227", "XOF"),
    Country("SEN", "Senegal", "221", "XOF"),
    Country("TUN", "Tunisia", "216", "TND"),
)
COUNTRIES_BY_ISO3: Final = {country.iso3: country for country in COUNTRIES}

_TEL = re.compile(r"tel:\+(\d{4,15})")


class InvalidInput(ValueError):
    """A request field Orange rejects with serviceException SVC0002."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """A validated send request; numbers are E.164 with a leading '+'."""

    sender: str
    recipient: str
    text: str
    sender_name: str | None
    country: Country


def country_of(number: str) -> Country | None:
    """The table's country whose calling code starts `number` (E.164)."""
    digits = number.removeprefix("+")
    # E.164 calling codes are prefix-free, so at most one entry matches.
    return next((c for c in COUNTRIES if digits.startswith(c.calling_code)), None)


def parse_tel(value: object, field: str) -> str:
    """`tel:+<digits>` -> `+<digits>`; anything else is an invalid `field`."""
    match = _TEL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(field)
    return f"+{match.group(1)}"


def parse_outbound(
    payload: object, sender_in_url: str, allowed_sender_names: Collection[str]
) -> OutboundSms:
    """Validate an `outboundSMSMessageRequest` body against the sender in the URL."""
    sender = parse_tel(sender_in_url, "senderAddress")
    request = _object_member(payload, "outboundSMSMessageRequest")
    recipient = parse_tel(request.get("address"), "address")
    if parse_tel(request.get("senderAddress"), "senderAddress") != sender:
        raise InvalidInput("senderAddress")
    text = _object_member(request, "outboundSMSTextMessage").get("message")
    if not isinstance(text, str) or not text:
        raise InvalidInput("message")
    sender_name = request.get("senderName")
    if sender_name is not None and sender_name not in allowed_sender_names:
        raise InvalidInput("senderName")
    country = country_of(sender)
    if country is None:
        raise InvalidInput("senderAddress")
    return OutboundSms(sender, recipient, text, sender_name, country)


def message_text(payload: object) -> str | None:
    """The text of a send body, read before the body is validated (None: it has none)."""
    try:
        request = _object_member(payload, "outboundSMSMessageRequest")
        text = _object_member(request, "outboundSMSTextMessage").get("message")
    except InvalidInput:
        return None
    return text if isinstance(text, str) else None


def parse_on_net(value: str | None) -> bool:
    """The on-net query parameter: absent -> off-net, SMS_OCB2 -> on-net."""
    if value is None:
        return False
    if value != ON_NET_OFFER:
        raise InvalidInput("resource_type_parameter_management")
    return True


def parse_subscription(payload: object) -> str:
    """The `notifyURL` of a `deliveryReceiptSubscription` body."""
    subscription = _object_member(payload, "deliveryReceiptSubscription")
    url = _object_member(subscription, "callbackReference").get("notifyURL")
    # Orange wants https on port 443; a loopback stand-in has to accept plain http.
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise InvalidInput("notifyURL")
    return url


def _object_member(parent: object, key: str) -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise InvalidInput(key)
    return value


def sent_body(sms: OutboundSms, sender_name: str, resource_url: str) -> dict[str, Any]:
    """The 201 body: the seed's echo, with the sender (not the recipient) as senderAddress."""
    return {
        "outboundSMSMessageRequest": {
            "senderAddress": f"tel:{sms.sender}",
            "senderName": sender_name,
            "outboundSMSTextMessage": {"message": sms.text},
            "resourceURL": resource_url,
        }
    }


def subscription_body(notify_url: str, resource_url: str) -> dict[str, Any]:
    return {
        "deliveryReceiptSubscription": {
            "callbackReference": {"notifyURL": notify_url},
            "resourceURL": resource_url,
        }
    }


def delivery_notification(resource_id: str, recipient: str, status: str) -> dict[str, Any]:
    """The receipt Orange POSTs to the notify URL."""
    return {
        "deliveryInfoNotification": {
            "callbackData": resource_id,
            "deliveryInfo": {"address": f"tel:{recipient}", "deliveryStatus": status},
        }
    }


def oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="api.orange.com"'} if status == 401 else None
    return json_response({"error": error, "error_description": description}, status, headers)


def invalid_input(field: str) -> Response:
    return json_response(
        {
            "requestError": {
                "serviceException": {
                    "messageId": "SVC0002",
                    "text": "Invalid input value for message part %1",
                    "variables": [field],
                }
            }
        },
        400,
    )


def policy_error(reason: str) -> Response:
    return json_response(
        {
            "requestError": {
                "policyException": {
                    "messageId": "POL0001",
                    "text": "A policy error occurred. For example, rate limit error, "
                    "authorization error etc.",
                    "variables": [reason],
                }
            }
        },
        403,
    )


def _api_error(status: int, code: int, message: str, description: str) -> Response:
    """Orange's gateway-level error body, e.g. `{"code": 42, "message": ...}`."""
    return json_response({"code": code, "message": message, "description": description}, status)


def invalid_credentials() -> Response:
    return _api_error(
        401,
        41,
        "Invalid credentials",
        "The requested service needs credentials, but the ones provided were invalid.",
    )


def expired_credentials() -> Response:
    return _api_error(
        401,
        42,
        "Expired credentials",
        "The requested service needs credentials, and the ones provided were out-of-date.",
    )


def too_many_requests() -> Response:
    return _api_error(
        403,
        53,
        "Too many requests",
        "The application has made too many calls and has exceeded the rate limit for this service.",
    )


def not_found(description: str) -> Response:
    return _api_error(404, 60, "Resource not found", description)


def method_not_allowed() -> Response:
    return _api_error(
        405, 61, "Method not allowed", "The requested method is not allowed for this resource."
    )


def internal_error() -> Response:
    return _api_error(500, 1, "Internal error", "The service encountered an internal error.")


def service_unavailable() -> Response:
    """Orange's answer while a service is down: nothing was done."""
    return _api_error(
        503, 5, "Service temporarily unavailable", "The service is temporarily unavailable."
    )
