"""Every Orange answer maps to the outcome the sender acts on (no network: a scripted adapter)."""

import json
from typing import Any

import pytest
import requests
from urllib3.exceptions import NewConnectionError, ProtocolError

from gateway.orange.client import (
    AccountBlocked,
    CredentialsRejected,
    OrangeClient,
    OutboundSms,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TokenRejected,
    Unavailable,
)
from tests.support import ScriptedAdapter, scripted_session


def client(
    answer: tuple[int, Any, dict[str, str]] | Exception,
) -> tuple[OrangeClient, ScriptedAdapter]:
    session, adapter = scripted_session(answer)
    return OrangeClient("https://api.orange.test", session=session), adapter


SMS = OutboundSms("2250000", "+2250700000001", "Hello!", sender_name="MonService", on_net=True)


def test_a_send_posts_the_seed_request_and_returns_the_resource_id() -> None:
    created = {
        "outboundSMSMessageRequest": {
            "resourceURL": "https://api.orange.com/smsmessaging/v1/outbound/tel:+2250000/requests/abc-123"
        }
    }
    orange, adapter = client((201, created, {}))
    assert orange.send_sms("tok", SMS) == "abc-123"
    [sent] = adapter.requests
    assert sent.url == (
        "https://api.orange.test/smsmessaging/v1/outbound/tel%3A%2B2250000/requests"
        "?resource_type_parameter_management=SMS_OCB2"
    )
    assert sent.headers["Authorization"] == "Bearer tok"
    assert json.loads(sent.body or b"")["outboundSMSMessageRequest"]["senderName"] == "MonService"
    assert adapter.timeouts[0] is not None


def test_the_location_header_gives_the_id_when_the_body_does_not() -> None:
    orange, _ = client((201, "", {"Location": "https://x/requests/from-location"}))
    assert orange.send_sms("tok", SMS) == "from-location"


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        ((401, {"code": 42, "message": "Expired credentials"}, {}), TokenRejected, "code 42"),
        ((403, {"code": 53, "message": "Too many requests"}, {}), RateLimited, "code 53"),
        (
            (
                403,
                {
                    "requestError": {
                        "policyException": {
                            "messageId": "POL0001",
                            "text": "A policy error occurred.",
                            "variables": ["Expired contract"],
                        }
                    }
                },
                {},
            ),
            AccountBlocked,
            "Expired contract",
        ),
        (
            (
                400,
                {
                    "requestError": {
                        "serviceException": {
                            "messageId": "SVC0002",
                            "text": "Invalid input value for message part %1",
                            "variables": ["senderName"],
                        }
                    }
                },
                {},
            ),
            Rejected,
            "Orange 400 SVC0002: Invalid input value for message part senderName",
        ),
        ((404, "", {}), Rejected, "Orange 404"),
    ],
)
def test_answers_are_classified(
    answer: tuple[int, Any, dict[str, str]], error: type[Exception], text: str
) -> None:
    orange, _ = client(answer)
    with pytest.raises(error, match=text):
        orange.send_sms("tok", SMS)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((429, "", {}), Unavailable),
        ((503, {"code": 5, "message": "Service temporarily unavailable"}, {}), Unavailable),
        ((500, {"code": 1, "message": "Internal error"}, {}), OutcomeUnknown),
        ((502, "<html>Bad Gateway</html>", {}), OutcomeUnknown),
        ((504, "", {}), OutcomeUnknown),
        ((599, "", {}), OutcomeUnknown),
    ],
    ids=["429", "503", "500", "502", "504", "599"],
)
def test_a_server_error_to_a_send_is_retried_only_when_it_proves_nothing_was_taken(
    answer: tuple[int, Any, dict[str, str]], error: type[Exception]
) -> None:
    orange, _ = client(answer)
    with pytest.raises(error, match=f"Orange {answer[0]}") as raised:
        orange.send_sms("tok", SMS)
    assert ("may have taken it" in str(raised.value)) is (error is OutcomeUnknown)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_server_error_to_a_token_request_is_retried(status: int) -> None:
    orange, _ = client((status, "", {}))
    with pytest.raises(Unavailable, match=f"Orange {status}") as raised:
        orange.fetch_token("id", "secret")
    assert not isinstance(raised.value, CredentialsRejected)


def test_a_refused_connection_sent_nothing() -> None:
    refused = requests.ConnectionError(NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    orange, _ = client(refused)
    with pytest.raises(Unavailable):
        orange.send_sms("tok", SMS)


@pytest.mark.parametrize(
    "failure",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
    ],
)
def test_no_answer_after_sending_is_an_unknown_outcome(failure: Exception) -> None:
    orange, _ = client(failure)
    with pytest.raises(OutcomeUnknown):
        orange.send_sms("tok", SMS)


@pytest.mark.parametrize("expires_in", ["3600", 3600, 7776000])
def test_the_token_lifetime_comes_from_the_answer(expires_in: object) -> None:
    orange, adapter = client(
        (200, {"token_type": "Bearer", "access_token": "t", "expires_in": expires_in}, {})
    )
    token = orange.fetch_token("id", "secret")
    assert token.value == "t"
    assert token.lifetime == float(str(expires_in))
    [sent] = adapter.requests
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.body == "grant_type=client_credentials"


def test_bad_credentials_are_a_configuration_error() -> None:
    orange, _ = client((401, {"error": "invalid_client"}, {}))
    with pytest.raises(CredentialsRejected, match="invalid_client"):
        orange.fetch_token("id", "wrong")
