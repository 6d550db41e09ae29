"""`parse_request`: the body of `POST /callbacks/mm7` as one of the three requests an MMSC
sends a VASP.

Mandatory means what the gateway cannot act without: MessageID, Recipient and MMStatus of a
delivery report or read reply, the Sender of a deliver. Other elements the schema requires
(MM7Version, Date, ...) are read when present: a fault makes the MMSC send the same request
again and again, and nothing is gained by refusing a report over a field the gateway ignores.
"""

from collections.abc import Callable

from lxml import etree

from gateway.mm7 import xml
from gateway.mm7.errors import Mm7Error, StatusCode
from gateway.mm7.mime import Body, read_body
from gateway.mm7.model import (
    Address,
    AddressKind,
    DeliverRequest,
    DeliveryReportRequest,
    ReadReplyRequest,
    Recipients,
    Request,
    RequestHeader,
)

_ADDRESS_KINDS = {kind.value: kind for kind in AddressKind if kind is not AddressKind.LEGACY}


def _addresses(element: etree._Element | None) -> tuple[Address, ...]:
    """Number, ShortCode or RFC2822Address children; bare text from legacy MMSCs."""
    if element is None:
        return ()
    typed = tuple(
        Address(value, kind, display_only=xml.attribute(child, "displayOnly") == "true")
        for child in element
        if (kind := _ADDRESS_KINDS.get(xml.local_name(child))) and (value := xml.text(child))
    )
    if typed or len(element):
        return typed
    legacy = xml.text(element)
    return (Address(legacy, AddressKind.LEGACY),) if legacy else ()


def _recipients(recipients: etree._Element | None, name: str) -> tuple[Address, ...]:
    """Every address of every To (Cc, Bcc) element: each may hold several."""
    return tuple(
        address for element in xml.children(recipients, name) for address in _addresses(element)
    )


class _Fields:
    """A request's child elements by local name, and what is mandatory among them."""

    def __init__(self, operation: etree._Element) -> None:
        self.operation = xml.local_name(operation)
        self.elements = xml.by_name(operation)

    def text(self, name: str) -> str | None:
        return xml.text(self.elements.get(name))

    def address(self, *names: str) -> Address | None:
        """The first address under the first of `names` that has one."""
        for name in names:
            if found := _addresses(self.elements.get(name)):
                return found[0]
        return None

    def required(self, name: str) -> str:
        if (value := self.text(name)) is None:
            raise self._missing(name)
        return value

    def required_address(self, *names: str) -> Address:
        if (address := self.address(*names)) is None:
            raise self._missing(names[0])
        return address

    def _missing(self, name: str) -> Mm7Error:
        return Mm7Error(StatusCode.VALIDATION_ERROR, f"{self.operation} has no {name}")


def _delivery_report(fields: _Fields, header: RequestHeader, _body: Body) -> DeliveryReportRequest:
    return DeliveryReportRequest(
        header=header,
        message_id=fields.required("MessageID"),
        recipient=fields.required_address("Recipient"),
        mm_status=fields.required("MMStatus"),
        sender=fields.address("Sender"),
        date=fields.text("Date") or fields.text("TimeStamp"),
        status_text=fields.text("StatusText"),
        mm_status_extension=fields.text("MMStatusExtension"),
        status_detail=fields.text("StatusDetail"),
    )


def _deliver(fields: _Fields, header: RequestHeader, body: Body) -> DeliverRequest:
    recipients = fields.elements.get("Recipients")
    content = fields.elements.get("Content")
    return DeliverRequest(
        header=header,
        sender=fields.required_address("Sender", "SenderAddress"),
        recipients=Recipients(
            to=_recipients(recipients, "To"),
            cc=_recipients(recipients, "Cc"),
            bcc=_recipients(recipients, "Bcc"),
        ),
        parts=body.content(None if content is None else xml.attribute(content, "href")),
        subject=fields.text("Subject"),
        priority=fields.text("Priority"),
        linked_id=fields.text("LinkedID"),
        timestamp=fields.text("TimeStamp"),
    )


def _read_reply(fields: _Fields, header: RequestHeader, _body: Body) -> ReadReplyRequest:
    return ReadReplyRequest(
        header=header,
        message_id=fields.required("MessageID"),
        recipient=fields.required_address("Recipient"),
        mm_status=fields.required("MMStatus"),
        sender=fields.address("Sender"),
        timestamp=fields.text("TimeStamp"),
        status_text=fields.text("StatusText"),
    )


_READERS: dict[str, Callable[[_Fields, RequestHeader, Body], Request]] = {
    DeliveryReportRequest.OPERATION: _delivery_report,
    DeliverRequest.OPERATION: _deliver,
    ReadReplyRequest.OPERATION: _read_reply,
}


def soap_operation(envelope: etree._Element) -> tuple[etree._Element, etree._Element | None]:
    """The SOAP Body's first element, the MM7 request, and the SOAP Header if there is one."""
    if xml.local_name(envelope) != "Envelope":
        raise Mm7Error(StatusCode.VALIDATION_ERROR, "not a SOAP envelope")
    parts = xml.by_name(envelope)
    body = parts.get("Body")
    operation = None if body is None else xml.first_child(body)
    if operation is None:
        raise Mm7Error(StatusCode.VALIDATION_ERROR, "no request in the SOAP Body")
    return operation, parts.get("Header")


def parse_request(content_type: str | None, body: bytes) -> Request:
    """The request in an HTTP body (API Gateway's, base64 already undone) and its Content-Type.

    Raises Mm7Error: 4004 not well-formed, not SOAP, or a mandatory element missing; 4003 an
    operation other than DeliveryReportReq, DeliverReq and ReadReplyReq; 2004 over the size
    limits or content that cannot be decoded. Once the SOAP header is read, the error carries
    it (namespace, TransactionID, MM7Version) for the fault to echo.
    """
    message = read_body(content_type, body)
    operation, soap_header = soap_operation(xml.parse(message.soap))
    fields = _Fields(operation)
    header = RequestHeader(
        namespace=xml.namespace(operation),
        transaction_id=xml.text(xml.by_name(soap_header).get("TransactionID")),
        mm7_version=fields.text("MM7Version"),
    )
    if (reader := _READERS.get(fields.operation)) is None:
        raise Mm7Error(
            StatusCode.UNSUPPORTED_OPERATION,
            f"unsupported operation {fields.operation[:100]}",
            header,
        )
    try:
        return reader(fields, header, message)
    except Mm7Error as exc:
        raise Mm7Error(exc.status_code, exc.text, header) from exc
