"""What the gateway stores of an MM7 request is bounded (gateway.mm7.parsing): an id or an
address over its limit is refused with a permanent code, informative text is cut."""

import pytest

from gateway.mm7 import (
    DeliverRequest,
    DeliveryReportRequest,
    Mm7Error,
    ReadReplyRequest,
    Request,
    RequestHeader,
    StatusCode,
    parse_request,
)
from gateway.mm7.parsing import (
    MAX_ADDRESS_CHARS,
    MAX_ID_CHARS,
    MAX_RECIPIENTS,
    MAX_TEXT_CHARS,
    MAX_VALUE_CHARS,
)
from tests.unit.mm7.requests import REL6, request

DR, RR, DELIVER = "DeliveryReportReq", "ReadReplyReq", "DeliverReq"


def parsed(body: bytes) -> Request:
    return parse_request("text/xml", body)


def refused(body: bytes) -> Mm7Error:
    with pytest.raises(Mm7Error) as error:
        parse_request("text/xml", body)
    return error.value


@pytest.mark.parametrize(
    ("operation", "name", "code"),
    [
        (DR, "MessageID", StatusCode.MESSAGE_ID_NOT_FOUND),
        (RR, "MessageID", StatusCode.MESSAGE_ID_NOT_FOUND),
        (DELIVER, "LinkedID", StatusCode.VALIDATION_ERROR),
    ],
)
def test_an_id_over_the_limit_is_refused_with_its_code(
    operation: str, name: str, code: StatusCode
) -> None:
    parsed(request(operation, **{name: "i" * MAX_ID_CHARS}))
    error = refused(request(operation, **{name: "i" * (MAX_ID_CHARS + 1)}))
    assert error.status_code == code
    assert f"{name} of {MAX_ID_CHARS + 1} characters" in error.text
    assert error.header == RequestHeader(REL6, "tx-1", "6.8.0")  # echoed by the fault


def test_a_transaction_id_over_the_limit_is_refused() -> None:
    assert parsed(request(DR, "t" * MAX_ID_CHARS)).header.transaction_id == "t" * MAX_ID_CHARS
    error = refused(request(DR, "t" * (MAX_ID_CHARS + 1)))
    assert error.status_code == StatusCode.VALIDATION_ERROR
    assert "TransactionID" in error.text


@pytest.mark.parametrize(
    ("operation", "name", "limit"),
    [
        (DR, "StatusText", MAX_TEXT_CHARS),
        (DR, "StatusDetail", MAX_TEXT_CHARS),
        (RR, "StatusText", MAX_TEXT_CHARS),
        (DELIVER, "Subject", MAX_TEXT_CHARS),
        (DR, "MMStatus", MAX_VALUE_CHARS),
        (DR, "MMStatusExtension", MAX_VALUE_CHARS),
        (DR, "Date", MAX_VALUE_CHARS),
        (RR, "TimeStamp", MAX_VALUE_CHARS),
        (DELIVER, "Priority", MAX_VALUE_CHARS),
        (DELIVER, "TimeStamp", MAX_VALUE_CHARS),
        (DELIVER, "MM7Version", MAX_VALUE_CHARS),
    ],
)
def test_informative_text_is_cut_at_its_limit(operation: str, name: str, limit: int) -> None:
    """Refusing it would lose the report or the MO (and have the MMSC send it again)."""
    attribute = {
        "StatusText": "status_text",
        "StatusDetail": "status_detail",
        "Subject": "subject",
        "MMStatus": "mm_status",
        "MMStatusExtension": "mm_status_extension",
        "Date": "date",
        "TimeStamp": "timestamp",
        "Priority": "priority",
    }

    def read(value: str) -> object:
        request_ = parsed(request(operation, **{name: value}))
        if name == "MM7Version":
            return request_.header.mm7_version
        return getattr(request_, attribute[name])

    assert read("a" * limit) == "a" * limit
    assert read("é" * 420_000) == "é" * (limit - 1) + "\u2026"


@pytest.mark.parametrize(
    "elements",
    [
        {"Sender": "<Number>{}</Number>"},
        {"Sender": None, "SenderAddress": "{}"},
        {"Recipients": "<To>12345</To><Cc><RFC2822Address>{}</RFC2822Address></Cc>"},
        {"Recipients": "<Bcc>{}</Bcc>"},
    ],
    ids=["sender", "legacy-sender-address", "cc", "bare-bcc"],
)
def test_an_mo_address_over_the_limit_is_refused_2002(elements: dict[str, str | None]) -> None:
    def body(length: int) -> bytes:
        return request(DELIVER, **{k: v and v.format("1" * length) for k, v in elements.items()})

    assert isinstance(parsed(body(MAX_ADDRESS_CHARS)), DeliverRequest)
    error = refused(body(MAX_ADDRESS_CHARS + 1))
    assert error.status_code == StatusCode.ADDRESS_ERROR
    assert f"address of {MAX_ADDRESS_CHARS + 1} characters" in error.text


def test_more_recipients_than_the_limit_are_refused_2002() -> None:
    def body(count: int) -> bytes:
        numbers = [f"<Number>4477009{i:05d}</Number>" for i in range(count)]
        to, bcc = "".join(numbers[::2]), "".join(numbers[1::2])
        return request(DELIVER, Recipients=f"<To>{to}</To><Bcc>{bcc}</Bcc>")

    deliver = parsed(body(MAX_RECIPIENTS))
    assert isinstance(deliver, DeliverRequest)
    assert len(deliver.recipients.to) + len(deliver.recipients.bcc) == MAX_RECIPIENTS
    error = refused(body(MAX_RECIPIENTS + 1))
    assert error.status_code == StatusCode.ADDRESS_ERROR
    assert f"more than {MAX_RECIPIENTS} recipients" in error.text


@pytest.mark.parametrize("operation", [DR, RR])
def test_a_reports_addresses_are_not_bounded_since_nothing_keeps_them(operation: str) -> None:
    long = "1" * 10 * MAX_ADDRESS_CHARS
    report = parsed(
        request(operation, Recipient=f"<Number>{long}</Number>", Sender=f"<Number>{long}</Number>")
    )
    assert isinstance(report, DeliveryReportRequest | ReadReplyRequest)
    assert report.recipient.value == long
