"""`parse_request`: the body of `POST /callbacks/mm7` as one of the three requests an MMSC
sends a VASP.

Mandatory means what the gateway cannot act without: MessageID, Recipient and MMStatus of a
delivery report or read reply. Other elements the schema requires (MM7Version, Date, ...) are
read when present: a fault makes the MMSC send the same request again and again, and nothing
is gained by refusing a report over a field the gateway ignores. A DeliverReq without a
Sender (23.140 makes it optional) is an MO whose sender is hidden (`HiddenSender`).

What the gateway keeps of a request is bounded, so that every write fits DynamoDB (2,048-byte
keys, 400 KB items: a message keeps 50 history entries) and EventBridge (256 KB events) even at
four UTF-8 bytes a character: a request over a limit could never be stored, and a 3000 would
have the MMSC send it again forever. What names something (ids, addresses) is refused with a
permanent 2xxx/4xxx code, since a cut one would name something else; text that only informs
(MMStatus, StatusText, Subject, dates, ...) is cut at its limit, since refusing it would lose
the report or the MO over a detail.
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
    HiddenSender,
    ReadReplyRequest,
    Recipients,
    Request,
    RequestHeader,
)

# Limits, in characters (see above).
MAX_ID_CHARS = 256  # MessageID, LinkedID, TransactionID: MMSCs use tens
MAX_ADDRESS_CHARS = 128  # E.164 needs 16 with its +, an RFC 2822 address rarely half of it
MAX_RECIPIENTS = 50  # To, Cc and Bcc together: an MO to a VASP has one, a group MMS a few
MAX_TEXT_CHARS = 200  # StatusText, StatusDetail, Subject (a send request's subject alike)
MAX_VALUE_CHARS = 64  # any other element: MMStatus, Priority, Date, MM7Version, ...
_FREE_TEXT = frozenset({"StatusText", "StatusDetail", "Subject"})
# Ids and the code that refuses one over the limit.
_IDENTIFIERS = {
    "MessageID": StatusCode.MESSAGE_ID_NOT_FOUND,
    "LinkedID": StatusCode.VALIDATION_ERROR,
    "TransactionID": StatusCode.VALIDATION_ERROR,
}
_ADDRESS_KINDS = {kind.value: kind for kind in AddressKind if kind is not AddressKind.LEGACY} | {
    "RFC822Address": AddressKind.RFC2822
}


def _addresses(element: etree._Element | None) -> tuple[Address, ...]:
    """Number, ShortCode or RFC2822Address children; else the text of children of any other
    name, or bare text, from legacy MMSCs (an address read leniently rather than a request
    refused, which the MMSC would only send again)."""
    if element is None:
        return ()
    typed: list[Address] = []
    other: list[Address] = []
    for child in element:
        if (value := xml.text(child)) is None:
            continue
        kind = _ADDRESS_KINDS.get(xml.local_name(child))
        display_only = xml.attribute(child, "displayOnly") == "true"
        (typed if kind else other).append(
            Address(value, kind or AddressKind.LEGACY, display_only=display_only)
        )
    if typed or other:
        return tuple(typed or other)
    legacy = xml.text(element)
    return (Address(legacy, AddressKind.LEGACY),) if legacy else ()


def _identifier(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > MAX_ID_CHARS:
        raise Mm7Error(
            _IDENTIFIERS[name],
            f"{name} of {len(value)} characters is over the limit of {MAX_ID_CHARS}",
        )
    return value


def _kept(address: Address) -> Address:
    """An address an MO's record keeps; refused (2002) over the limit."""
    if len(address.value) > MAX_ADDRESS_CHARS:
        raise Mm7Error(
            StatusCode.ADDRESS_ERROR,
            f"an address of {len(address.value)} characters is over the limit of "
            f"{MAX_ADDRESS_CHARS}",
        )
    return address


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
        """The element's text: an id refused over its limit, any other text cut at its own."""
        value = xml.text(self.elements.get(name))
        if name in _IDENTIFIERS:
            return _identifier(name, value)
        limit = MAX_TEXT_CHARS if name in _FREE_TEXT else MAX_VALUE_CHARS
        if value is None or len(value) <= limit:
            return value
        return value[: limit - 1] + "\u2026"  # an ellipsis marks the cut

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
    to, cc, bcc = (tuple(map(_kept, _recipients(recipients, name))) for name in ("To", "Cc", "Bcc"))
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise Mm7Error(StatusCode.ADDRESS_ERROR, f"more than {MAX_RECIPIENTS} recipients")
    sender = fields.address("Sender", "SenderAddress")
    content = fields.elements.get("Content")
    return DeliverRequest(
        header=header,
        sender=HiddenSender() if sender is None else _kept(sender),
        recipients=Recipients(to=to, cc=cc, bcc=bcc),
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

    Raises Mm7Error: 4004 not well-formed, not SOAP, a mandatory element missing, or a
    TransactionID or LinkedID over MAX_ID_CHARS; 4003 an operation other than
    DeliveryReportReq, DeliverReq and ReadReplyReq; 2004 over the size limits or content that
    cannot be decoded; 2005 a MessageID over MAX_ID_CHARS; 2002 an MO's address over
    MAX_ADDRESS_CHARS or more than MAX_RECIPIENTS recipients. Once the SOAP header is read,
    the error carries it (namespace, TransactionID, MM7Version) for the fault to echo.
    """
    message = read_body(content_type, body)
    operation, soap_header = soap_operation(xml.parse(message.soap))
    fields = _Fields(operation)
    header = RequestHeader(
        namespace=xml.namespace(operation),
        transaction_id=xml.text(xml.by_name(soap_header).get("TransactionID")),
        mm7_version=fields.text("MM7Version"),
    )
    try:
        _identifier("TransactionID", header.transaction_id)
        if (reader := _READERS.get(fields.operation)) is None:
            raise Mm7Error(
                StatusCode.UNSUPPORTED_OPERATION, f"unsupported operation {fields.operation[:100]}"
            )
        return reader(fields, header, message)
    except Mm7Error as exc:
        raise Mm7Error(exc.status_code, exc.text, header) from exc
