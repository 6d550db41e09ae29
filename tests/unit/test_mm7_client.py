"""Every MMSC answer to a SubmitReq maps to the outcome the sender acts on (no network: a
scripted adapter)."""

import base64

import pytest
import requests
from urllib3.exceptions import NewConnectionError, ProtocolError

from gateway.core.carrier_errors import CarrierError, OutcomeUnknown, Rejected, Unavailable
from gateway.mm7.submit import SubmitResult
from gateway.mms.client import Mm7Client
from tests.support import Answer, ScriptedAdapter, scripted_session
from tests.unit.mm7.test_submit import build, fault, submit_rsp

URL = "https://mmsc.test/mm7"
PASSWORD = "s3cr3t-pw"
XML = {"Content-Type": "text/xml; charset=utf-8"}


def client(answer: Answer) -> tuple[Mm7Client, ScriptedAdapter]:
    session, adapter = scripted_session(answer)
    return Mm7Client(URL, "vasp-user", PASSWORD, session=session), adapter


def test_an_accepted_submit_posts_the_request_and_returns_the_message_id() -> None:
    content_type, body = build()
    mmsc, adapter = client((200, submit_rsp(1000, message_id="mmsc-77"), XML))
    assert mmsc.submit(content_type, body) == SubmitResult(1000, "Success", "mmsc-77")
    [sent] = adapter.requests
    assert sent.method == "POST"
    assert sent.url == URL
    assert sent.body == body
    assert sent.headers["Content-Type"] == content_type
    assert sent.headers["SOAPAction"] == '""'
    expected = base64.b64encode(f"vasp-user:{PASSWORD}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"
    assert adapter.timeouts == [(3.05, 15.0)]


def test_a_partial_success_is_accepted() -> None:
    mmsc, _ = client((200, submit_rsp(1100, "Partial success"), {}))
    assert mmsc.submit(*build()).message_id == "msg-1"


def test_the_timeout_is_configurable() -> None:
    adapter = ScriptedAdapter((200, submit_rsp(1000), XML))
    session = requests.Session()
    session.mount("https://", adapter)
    Mm7Client(URL, "u", "p", session=session, timeout=(1.0, 2.0)).submit(*build())
    assert adapter.timeouts == [(1.0, 2.0)]


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        pytest.param(
            (500, fault(2002, "Address Error"), XML), Rejected, "2002: Address Error", id="fault"
        ),
        pytest.param(
            (200, submit_rsp(2007, "Content refused", None), XML),
            Rejected,
            "2007: Content refused",
            id="2xxx-in-rsp",
        ),
        pytest.param((500, fault(3001), XML), Unavailable, "3001", id="3xxx"),
        pytest.param(
            (200, submit_rsp(4006, "Service unavailable", None), XML),
            Unavailable,
            "4006: Service unavailable",
            id="4xxx",
        ),
        pytest.param((401, b"<html>Unauthorized</html>", {}), Unavailable, "HTTP 401", id="401"),
        pytest.param((503, b"", {}), Unavailable, "HTTP 503", id="503-empty"),
        pytest.param((429, b"", {}), Unavailable, "HTTP 429", id="429"),
        pytest.param(
            (500, b"Internal error", {}),
            OutcomeUnknown,
            "HTTP 500.*may have taken it",
            id="500-not-soap",
        ),
        pytest.param(
            (502, b"<html>Bad Gateway</html>", {}), OutcomeUnknown, "HTTP 502", id="502-proxy"
        ),
        pytest.param((504, b"", {}), OutcomeUnknown, "HTTP 504.*may have taken it", id="504-proxy"),
        pytest.param((302, b"", {"Location": "/elsewhere"}), Unavailable, "HTTP 302", id="302"),
        pytest.param((200, b"OK", {}), OutcomeUnknown, "HTTP 200", id="200-unreadable"),
        pytest.param(
            (200, submit_rsp(1000, message_id=None), XML),
            OutcomeUnknown,
            "without a MessageID",
            id="accepted-without-id",
        ),
        pytest.param(
            (200, submit_rsp(5001, "Odd", None), XML), OutcomeUnknown, "5001", id="unknown-code"
        ),
    ],
)
def test_answers_are_classified(answer: Answer, error: type[CarrierError], text: str) -> None:
    mmsc, _ = client(answer)
    with pytest.raises(error, match=text) as raised:
        mmsc.submit(*build())
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError(NewConnectionError(None, "refused")),  # type: ignore[arg-type]
        requests.ConnectTimeout("connect timed out"),
    ],
    ids=["refused", "connect-timeout"],
)
def test_a_connection_never_made_sent_nothing(failure: Exception) -> None:
    mmsc, _ = client(failure)
    with pytest.raises(Unavailable, match="MM7 MMSC unreachable"):
        mmsc.submit(*build())


@pytest.mark.parametrize(
    "failure",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError())),
    ],
    ids=["read-timeout", "reset"],
)
def test_no_answer_after_sending_is_an_unknown_outcome(failure: Exception) -> None:
    mmsc, _ = client(failure)
    with pytest.raises(OutcomeUnknown, match="no answer from MM7 MMSC"):
        mmsc.submit(*build())


def test_the_password_is_not_in_what_a_log_line_could_show_of_the_client() -> None:
    mmsc, _ = client((200, submit_rsp(1000), XML))
    assert PASSWORD not in repr(vars(mmsc))
