"""SubmitReq out, read back with the gateway's own MM7 reader and with the `email` package;
SubmitRsp and Fault in."""

from collections.abc import Callable, Iterator
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.mm7 import AddressKind, xml
from gateway.mm7 import submit as submit_module
from gateway.mm7.mime import Body, parse_content_type, read_body
from gateway.mm7.model import DEFAULT_NAMESPACE, DEFAULT_VERSION, NAMESPACES
from gateway.mm7.submit import (
    MalformedResponse,
    OutboundPart,
    Outcome,
    SubmitResult,
    SubmitSettings,
    build_submit,
    classify,
    parse_submit_response,
)
from tests.unit.mm7.corpus import SOAP_ENV

SETTINGS = SubmitSettings(
    vasp_id="vasp-1", vas_id="vas-9", sender_address="22211", service_code="svc-7"
)
# Not UTF-8, CRLF, "--" at the start of a line, a bare CR at the end.
IMAGE = b"\xff\xd8\xff\xe0\x00\x10JFIF\r\n--\r\n\x00\x80\xfe--\n\xff\xd9\r"
TEXT = "Café ☕, 東京\r\n-- signed"
# Delimiter lines as this builder and others write them.
LOOKALIKE = b"--=_related_\r\n--=_mixed_--\r\n--boundary\r\n------=_Part_1_2.3--\r\n"
PARTS = (
    OutboundPart("image/jpeg", IMAGE, name="photo.jpg"),
    OutboundPart.text(TEXT),
    OutboundPart("application/octet-stream", LOOKALIKE),
)
EXPECTED = [
    ("image/jpeg", IMAGE, None),
    ("text/plain", TEXT.encode("utf-8"), "utf-8"),
    ("application/octet-stream", LOOKALIKE, None),
]
SUBJECT = "Voucher <50%> & more"
PROPERTY = settings(max_examples=100, deadline=1000, database=None)

Reading = list[tuple[str, bytes, str | None]]


def build(
    parts: tuple[OutboundPart, ...] = PARTS,
    submit_settings: SubmitSettings = SETTINGS,
    subject: str | None = SUBJECT,
) -> tuple[str, bytes]:
    return build_submit(
        submit_settings,
        transaction_id="tx-42",
        recipient="+12125550123",
        subject=subject,
        parts=parts,
    )


# -- the request, read back --------------------------------------------------------------


def operation(body: Body) -> etree._Element:
    found = xml.first_child(xml.by_name(xml.parse(body.soap))["Body"])
    assert found is not None
    return found


def own_reading(content_type: str, body: bytes) -> Reading:
    """The parts, as the gateway's inbound splitter finds them through the Content href."""
    message = read_body(content_type, body)
    href = xml.attribute(xml.by_name(operation(message))["Content"], "href")
    [container] = message.attachments  # the one content part beside the SOAP part
    assert href == f"cid:{container.content_id}"
    return [(part.content_type, part.data, part.charset) for part in message.content(href)]


def email_message(content_type: str, body: bytes) -> EmailMessage:
    message = BytesParser(policy=default).parsebytes(
        b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n" + body
    )
    assert isinstance(message, EmailMessage)
    return message


def email_reading(content_type: str, body: bytes) -> Reading:
    """The parts, as the standard library's MIME parser finds them from the `start` part."""
    message = email_message(content_type, body)
    root, container = message.iter_parts()
    assert root["Content-ID"] == message.get_param("start")
    soap = root.get_payload(decode=True)
    assert isinstance(soap, bytes)
    [content] = etree.fromstring(soap).iter("{*}Content")
    assert content.get("href") == "cid:" + str(container["Content-ID"]).strip("<>")
    return [_email_leaf(leaf) for leaf in container.iter_parts()]


def _email_leaf(leaf: Message) -> tuple[str, bytes, str | None]:
    data = leaf.get_payload(decode=True)
    assert isinstance(data, bytes)
    charset = leaf.get_param("charset")
    return leaf.get_content_type(), data, charset if isinstance(charset, str) else None


READERS = pytest.mark.parametrize("reader", [own_reading, email_reading], ids=["gateway", "email"])


@READERS
def test_every_part_round_trips_byte_for_byte(reader: Callable[[str, bytes], Reading]) -> None:
    assert reader(*build()) == EXPECTED


@READERS
@PROPERTY
@given(data=st.lists(st.binary(max_size=600), min_size=1, max_size=4))
def test_any_bytes_round_trip(reader: Callable[[str, bytes], Reading], data: list[bytes]) -> None:
    parts = tuple(OutboundPart("application/octet-stream", item) for item in data)
    assert [found[1] for found in reader(*build(parts))] == data


def test_the_text_part_reads_back_as_the_same_text() -> None:
    content_type, body = build()
    message = read_body(content_type, body)
    href = xml.attribute(xml.by_name(operation(message))["Content"], "href")
    assert message.content(href)[1].text() == TEXT
    _, container = email_message(content_type, body).iter_parts()
    _, text, _ = container.iter_parts()
    assert text.get_content() == TEXT


def test_a_boundary_found_in_the_content_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens: Iterator[str] = iter(["ids", "taken", "fresh1", "taken", "fresh2"])
    monkeypatch.setattr(submit_module, "_random_token", lambda: next(tokens))
    trap = OutboundPart("application/octet-stream", b"=_mixed_taken\r\n--=_related_taken--")
    content_type, body = build((trap,))
    assert parse_content_type(content_type).params["boundary"] == "=_related_fresh2"
    assert b'boundary="=_mixed_fresh1"' in body
    for reader in (own_reading, email_reading):
        assert reader(content_type, body) == [("application/octet-stream", trap.data, None)]


def test_the_http_content_type_names_the_soap_part_as_start() -> None:
    content_type, body = build()
    parsed = parse_content_type(content_type)
    assert parsed.media_type == "multipart/related"
    assert parsed.params["type"] == "text/xml"
    start = parsed.params["start"]
    assert start.startswith("<")
    assert start.endswith(">")
    first_part = body.split(b"\r\n\r\n", 1)[0]
    assert f"Content-ID: {start}".encode() in first_part
    assert b"Content-Type: text/xml; charset=utf-8" in first_part


def test_a_part_name_becomes_a_header_safe_content_location() -> None:
    parts = (
        OutboundPart("image/jpeg", IMAGE, name="photo.jpg"),
        OutboundPart("image/png", b"png", name="my photo/ü.png\r\nX-Injected: 1"),
    )
    content_type, body = build(parts)
    message = read_body(content_type, body)
    href = xml.attribute(xml.by_name(operation(message))["Content"], "href")
    locations = [part.content_location for part in message.content(href)]
    assert locations == ["photo.jpg", "my_photo__.png__X-Injected__1"]
    assert b"X-Injected: 1" not in body


# -- the SOAP envelope -------------------------------------------------------------------


def envelope(content_type: str, body: bytes) -> tuple[etree._Element, etree._Element]:
    """The SOAP header's TransactionID and the SubmitReq."""
    message = read_body(content_type, body)
    header = xml.by_name(xml.parse(message.soap))["Header"]
    return xml.by_name(header)["TransactionID"], operation(message)


def value(parent: etree._Element, *path: str) -> str | None:
    element: etree._Element | None = parent
    for name in path:
        element = xml.by_name(element).get(name)
    return xml.text(element)


def test_the_submit_req_carries_the_settings_and_the_message() -> None:
    content_type, body = build()
    transaction, request = envelope(content_type, body)
    assert xml.text(transaction) == "tx-42"
    assert transaction.get(f"{{{SOAP_ENV}}}mustUnderstand") == "1"
    assert xml.namespace(transaction) == DEFAULT_NAMESPACE
    assert xml.local_name(request) == "SubmitReq"
    assert xml.namespace(request) == DEFAULT_NAMESPACE
    # 23.140's SubmitReq sequence, for the elements written.
    assert [xml.local_name(child) for child in request] == [
        "MM7Version",
        "SenderIdentification",
        "Recipients",
        "ServiceCode",
        "DeliveryReport",
        "Subject",
        "Content",
    ]
    assert value(request, "MM7Version") == DEFAULT_VERSION
    assert value(request, "SenderIdentification", "VASPID") == "vasp-1"
    assert value(request, "SenderIdentification", "VASID") == "vas-9"
    assert value(request, "SenderIdentification", "SenderAddress", "ShortCode") == "22211"
    assert value(request, "Recipients", "To", "Number") == "12125550123"
    assert value(request, "ServiceCode") == "svc-7"
    assert value(request, "DeliveryReport") == "true"
    assert value(request, "Subject") == SUBJECT
    assert b"Voucher &lt;50%&gt; &amp; more" in body
    content = xml.by_name(request)["Content"]
    assert xml.attribute(content, "allowAdaptations") == "true"


def test_the_namespace_version_and_sender_come_from_the_settings() -> None:
    other = SubmitSettings(
        vasp_id="v",
        vas_id="w",
        sender_address="+447700900750",
        sender_kind=AddressKind.NUMBER,
        service_code="s",
        mm7_version="5.6.0",
        namespace=NAMESPACES[2],
        delivery_report=False,
    )
    transaction, request = envelope(*build(submit_settings=other, subject=None))
    assert xml.namespace(transaction) == xml.namespace(request) == NAMESPACES[2]
    assert value(request, "MM7Version") == "5.6.0"
    assert value(request, "SenderIdentification", "SenderAddress", "Number") == "447700900750"
    assert value(request, "DeliveryReport") == "false"
    assert "Subject" not in xml.by_name(request)


@pytest.mark.parametrize("recipient", ["", "12", "+1 212 555 0123", "tel:+12125550123", "0123"])
def test_a_recipient_must_be_an_international_number(recipient: str) -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_submit(SETTINGS, transaction_id="t", recipient=recipient, subject=None, parts=PARTS)


def test_an_mm_needs_a_part() -> None:
    with pytest.raises(ValueError, match="at least one part"):
        build(())


@pytest.mark.parametrize(
    ("content_type", "data", "charset", "reason"),
    [
        ("image/jpeg\r\nX-Injected: 1", b"", None, "not type/subtype"),
        ("image", b"", None, "not type/subtype"),
        ("image/jpeg; name=x", b"", None, "not type/subtype"),
        ("multipart/mixed", b"", None, "single body"),
        ("text/plain", b"", 'utf-8"; x="', "not a charset name"),
        ("text/plain", "é".encode("latin-1"), None, "not UTF-8"),  # labelled utf-8, it would lie
    ],
)
def test_a_part_that_cannot_be_written_faithfully_is_refused(
    content_type: str, data: bytes, charset: str | None, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        OutboundPart(content_type, data, charset)


def test_a_text_part_keeps_its_declared_charset() -> None:
    latin = OutboundPart("text/plain", "é".encode("latin-1"), charset="iso-8859-1")
    assert own_reading(*build((latin,))) == [("text/plain", b"\xe9", "iso-8859-1")]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"sender_kind": AddressKind.RFC2822}, "sender_kind"), ({"namespace": ""}, "namespace")],
)
def test_settings_that_cannot_make_a_submit_req_are_refused(
    changes: dict[str, object], reason: str
) -> None:
    fields: dict[str, object] = {
        "vasp_id": "v",
        "vas_id": "w",
        "sender_address": "1",
        "service_code": "s",
    }
    with pytest.raises(ValueError, match=reason):
        SubmitSettings(**(fields | changes))  # type: ignore[arg-type]


# -- the response ------------------------------------------------------------------------

NS = DEFAULT_NAMESPACE


def submit_rsp(
    code: int, text: str | None = "Success", message_id: str | None = "msg-1", p: str = "mm7:"
) -> bytes:
    """A SubmitRsp, its MM7 elements with the prefix `p` (or in the default namespace)."""
    declaration = f'xmlns:{p[:-1]}="{NS}"' if p else f'xmlns="{NS}"'
    status_text = f"<{p}StatusText>{text}</{p}StatusText>" if text else ""
    message = f"<{p}MessageID>{message_id}</{p}MessageID>" if message_id else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}"><soap-env:Header>'
        f'<TransactionID xmlns="{NS}" soap-env:mustUnderstand="1">tx-42</TransactionID>'
        f"</soap-env:Header><soap-env:Body><{p}SubmitRsp {declaration}>"
        f"<{p}MM7Version>6.8.0</{p}MM7Version><{p}Status><{p}StatusCode>{code}</{p}StatusCode>"
        f"{status_text}</{p}Status>{message}</{p}SubmitRsp></soap-env:Body></soap-env:Envelope>"
    ).encode()


def fault(
    code: int | None,
    text: str | None = "Invalid recipient",
    faultcode: str = "env:Client",
    env: str = "env",
) -> bytes:
    """A SOAP Fault, with an RSErrorRsp in its detail when `code` is given."""
    status_text = f"<StatusText>{text}</StatusText>" if text else ""
    detail = (
        ""
        if code is None
        else f'<detail><RSErrorRsp xmlns="{NS}"><MM7Version>6.8.0</MM7Version><Status>'
        f"<StatusCode>{code}</StatusCode>{status_text}</Status></RSErrorRsp></detail>"
    )
    return (
        f'<{env}:Envelope xmlns:{env}="{SOAP_ENV}"><{env}:Body><{env}:Fault>'
        f"<faultcode>{faultcode}</faultcode><faultstring>Fault string</faultstring>{detail}"
        f"</{env}:Fault></{env}:Body></{env}:Envelope>"
    ).encode()


def multipart_answer(soap: bytes) -> tuple[str, bytes]:
    body = b"--b\r\nContent-Type: text/xml\r\nContent-ID: <rsp>\r\n\r\n" + soap + b"\r\n--b--\r\n"
    return 'multipart/related; type="text/xml"; start="<rsp>"; boundary=b', body


ACCEPTED = SubmitResult(1000, "Success", "msg-1")


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        pytest.param("text/xml; charset=utf-8", submit_rsp(1000), ACCEPTED, id="1000"),
        pytest.param(
            "application/xml",
            submit_rsp(1100, "Partial success", p=""),
            SubmitResult(1100, "Partial success", "msg-1"),
            id="1100-application-xml",
        ),
        pytest.param(
            None, submit_rsp(1000, None, p="ns3:"), SubmitResult(1000, None, "msg-1"), id="bare"
        ),
        pytest.param(*multipart_answer(submit_rsp(1000)), ACCEPTED, id="multipart"),
        pytest.param(
            "text/xml",
            submit_rsp(1000, message_id="m" * 256),
            SubmitResult(1000, "Success", "m" * 256),
            id="longest-message-id",
        ),
        pytest.param(
            "text/xml",
            submit_rsp(2007, "Unsupported", None),
            SubmitResult(2007, "Unsupported"),
            id="2xxx-in-rsp",
        ),
        pytest.param(
            "text/xml",
            submit_rsp(4006, "Service unavailable", None),
            SubmitResult(4006, "Service unavailable"),
            id="4xxx-in-rsp",
        ),
        pytest.param(
            "text/xml", fault(2002), SubmitResult(2002, "Invalid recipient"), id="fault-2xxx"
        ),
        pytest.param(
            "text/xml",
            fault(3001, "Not possible", "SOAP-ENV:Server", env="SOAP-ENV"),
            SubmitResult(3001, "Not possible"),
            id="fault-3xxx-other-prefix",
        ),
        pytest.param(
            "text/xml",
            fault(4004, None, env="s"),
            SubmitResult(4004, "Fault string"),
            id="fault-without-status-text",
        ),
        pytest.param(
            "text/xml", fault(None), SubmitResult(2000, "Fault string"), id="client-no-detail"
        ),
        pytest.param(
            "text/xml",
            fault(None, faultcode="soap:Client.Authentication"),
            SubmitResult(2000, "Fault string"),
            id="client-subcode",
        ),
        pytest.param(
            "text/xml",
            fault(None, faultcode="env:Server"),
            SubmitResult(3000, "Fault string"),
            id="server-no-detail",
        ),
        pytest.param(
            "text/xml",
            fault(None, faultcode=""),
            SubmitResult(3000, "Fault string"),
            id="no-faultcode",
        ),
    ],
)
def test_responses_are_read(content_type: str | None, body: bytes, expected: SubmitResult) -> None:
    assert parse_submit_response(content_type, body) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not well-formed"),
        (b"Service Temporarily Unavailable", "not well-formed"),
        (b"<html><body>Bad gateway</body></html>", "not a SOAP envelope"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "document type"),
        (f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body/></e:Envelope>'.encode(), "SOAP Body"),
        (submit_rsp(1000).replace(b"1000", b"OK"), "numeric StatusCode"),
        (submit_rsp(1000).replace(b"mm7:Status>", b"mm7:Other>"), "numeric StatusCode"),
        (submit_rsp(1000, message_id=None), "1000 without a MessageID"),
        (fault(1100), "1100 without a MessageID"),
        # Its delivery reports would be refused (2005): the gateway keeps none longer.
        (submit_rsp(1000, message_id="m" * 257), "MessageID of 257 characters"),
    ],
)
def test_malformed_responses_are_refused_clearly(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        parse_submit_response("text/xml", body)


@pytest.mark.parametrize(
    ("status_code", "outcome"),
    [
        (1000, Outcome.ACCEPTED),
        (1100, Outcome.ACCEPTED),
        (2000, Outcome.REJECTED),
        (2999, Outcome.REJECTED),
        (3000, Outcome.RETRY),
        (4008, Outcome.RETRY),
        (1001, Outcome.UNKNOWN),
        (5000, Outcome.UNKNOWN),
        (0, Outcome.UNKNOWN),
    ],
)
def test_status_codes_are_classified(status_code: int, outcome: Outcome) -> None:
    assert classify(status_code) is outcome
    assert SubmitResult(status_code, None).outcome is outcome
