"""Replies and faults, read back with lxml."""

import pytest
from lxml import etree

from gateway.mm7 import (
    Address,
    AddressKind,
    DeliveryReportRequest,
    Mm7Error,
    Reply,
    Request,
    RequestHeader,
    StatusCode,
    fault,
    parse_request,
    reply,
)
from gateway.mm7.model import DEFAULT_NAMESPACE, DEFAULT_VERSION
from tests.unit.mm7.corpus import NS, SOAP_ENV, load, names

MUST_UNDERSTAND = f"{{{SOAP_ENV}}}mustUnderstand"
RESPONSES = {
    "DeliveryReportReq": "DeliveryReportRsp",
    "DeliverReq": "DeliverRsp",
    "ReadReplyReq": "ReadReplyRsp",
}


def outcome(name: str) -> Request | Mm7Error:
    fixture = load(name)
    try:
        return parse_request(fixture.content_type, fixture.body)
    except Mm7Error as error:
        return error


PARSED = {name: outcome(name) for name in names()}
REQUESTS = {name: value for name, value in PARSED.items() if not isinstance(value, Mm7Error)}
ERRORS = {name: value for name, value in PARSED.items() if isinstance(value, Mm7Error)}


def read_back(answer: Reply) -> etree._Element:
    assert answer.content_type == "text/xml; charset=utf-8"
    assert answer.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = etree.fromstring(answer.body)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"
    return root


def q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}" if namespace else name


def check_header(root: etree._Element, header: RequestHeader | None, namespace: str) -> None:
    transaction = root.find(f"{{{SOAP_ENV}}}Header/{q(namespace, 'TransactionID')}")
    if header is None or header.transaction_id is None:
        assert root.find(f"{{{SOAP_ENV}}}Header") is None
    else:
        assert transaction is not None
        assert transaction.text == header.transaction_id
        assert transaction.get(MUST_UNDERSTAND) == "1"


def check_status(
    response: etree._Element, namespace: str, version: str, code: int, text: str
) -> None:
    assert response.findtext(q(namespace, "MM7Version")) == version
    assert response.findtext(f"{q(namespace, 'Status')}/{q(namespace, 'StatusCode')}") == str(code)
    assert response.findtext(f"{q(namespace, 'Status')}/{q(namespace, 'StatusText')}") == text


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_reply_echoes_the_request(name: str) -> None:
    request = REQUESTS[name]
    answer = reply(request)
    assert answer.http_status == 200
    root = read_back(answer)
    namespace = request.header.namespace
    check_header(root, request.header, namespace)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None
    [response] = body
    operation = type(request).OPERATION
    assert response.tag == q(namespace, RESPONSES[operation])
    assert request.header.mm7_version is not None
    check_status(response, namespace, request.header.mm7_version, 1000, "Success")


def test_reply_in_no_namespace_for_a_request_in_none() -> None:
    root = read_back(reply(REQUESTS["dr-no-namespace"]))
    assert root.find(f"{{{SOAP_ENV}}}Body/DeliveryReportRsp/Status/StatusCode") is not None
    assert "mm7" not in root.nsmap


def test_reply_may_carry_another_status() -> None:
    answer = reply(REQUESTS["dr-seed-rel6-1-4"], StatusCode.SERVER_ERROR, "try again later")
    response = read_back(answer).find(
        f"{{{SOAP_ENV}}}Body/{q(DEFAULT_NAMESPACE, 'DeliveryReportRsp')}"
    )
    assert response is not None
    check_status(response, DEFAULT_NAMESPACE, "6.8.0", 3000, "try again later")


def test_reply_without_transaction_or_version_uses_defaults() -> None:
    request = DeliveryReportRequest(
        header=RequestHeader(NS + "REL-5-MM7-1-0"),
        message_id="m",
        recipient=Address("1", AddressKind.NUMBER),
        mm_status="Retrieved",
    )
    root = read_back(reply(request))
    check_header(root, request.header, request.header.namespace)
    response = root.find(f"{{{SOAP_ENV}}}Body/{q(request.header.namespace, 'DeliveryReportRsp')}")
    assert response is not None
    check_status(response, request.header.namespace, DEFAULT_VERSION, 1000, "Success")


def fault_parts(answer: Reply) -> tuple[etree._Element, etree._Element, etree._Element]:
    assert answer.http_status == 500
    root = read_back(answer)
    soap_fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert soap_fault is not None
    detail = soap_fault.find("detail")
    assert detail is not None
    [error_response] = detail
    return root, soap_fault, error_response


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_fault_echoes_what_could_be_read(name: str) -> None:
    error = ERRORS[name]
    root, soap_fault, error_response = fault_parts(fault(error))
    namespace = DEFAULT_NAMESPACE if error.header is None else error.header.namespace
    check_header(root, error.header, namespace)
    # faultcode is a QName: its prefix must be the SOAP envelope's.
    prefix, _, side = (soap_fault.findtext("faultcode") or "").partition(":")
    assert soap_fault.nsmap[prefix] == SOAP_ENV
    assert side == "Client"
    assert soap_fault.findtext("faultstring") == error.status_code.phrase
    assert error_response.tag == q(namespace, "VASPErrorRsp")
    version = error.header.mm7_version if error.header and error.header.mm7_version else "6.8.0"
    check_status(error_response, namespace, version, error.status_code, error.text)


def test_every_refusal_code_is_in_the_corpus() -> None:
    assert {error.status_code for error in ERRORS.values()} == {
        StatusCode.VALIDATION_ERROR,
        StatusCode.UNSUPPORTED_OPERATION,
        StatusCode.MULTIMEDIA_CONTENT_REFUSED,
    }


def test_server_errors_blame_the_server() -> None:
    header = RequestHeader(NS + "REL-6-MM7-1-2", "tx-9", "6.5.0")
    root, soap_fault, error_response = fault_parts(
        fault(Mm7Error(StatusCode.SERVER_ERROR, "storage unavailable", header))
    )
    assert soap_fault.findtext("faultcode") == "env:Server"
    check_header(root, header, header.namespace)
    check_status(error_response, header.namespace, "6.5.0", 3000, "storage unavailable")


def test_fault_text_is_made_safe_for_xml() -> None:
    error = Mm7Error(StatusCode.VALIDATION_ERROR, "bad \x00\x1b byte <&> " + "x" * 1000)
    _, _, error_response = fault_parts(fault(error))
    text = error_response.findtext(
        f"{q(DEFAULT_NAMESPACE, 'Status')}/{q(DEFAULT_NAMESPACE, 'StatusText')}"
    )
    assert text is not None
    assert text.startswith("bad \ufffd\ufffd byte <&> x")
    assert len(text) == 300
