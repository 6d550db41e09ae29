"""MM7 (3GPP TS 23.140) as the MMSC simulator reads and writes it: the VASP's SubmitReq in,
a SubmitRsp or a SOAP Fault (RSErrorRsp) out; the DeliveryReportReq and DeliverReq the MMSC
posts to the VASP (shared/seeds/mm7-*.txt), and the VASP's answers to them.

Nothing here comes from the gateway's codec: the simulator checks the gateway only while it
reads and writes MM7 on its own. The body is split with the standard library's `email`
package, the XML read with lxml (entities, DTDs and the network off) and written with lxml,
which escapes every value.
"""

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Final
from urllib.parse import unquote

from lxml import etree

from infra.simulators._mm7_types import (
    SOAP_ENV,
    Address,
    AddressKind,
    ContentPart,
    Mm7Fault,
    RequestHeader,
    StatusCode,
)

XML_CONTENT_TYPE: Final = "text/xml; charset=utf-8"
_SOAP_START: Final = "soap-start"  # the deliver seed's Content-ID of the SOAP part
_CONTENT_ID: Final = "default.cid"  # ... and of the content (a multipart/mixed)
# What the simulated MMSC takes in one request; more is refused with 2004.
MAX_BODY_BYTES: Final = 4_500_000
_XML_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, huge_tree=False
)

_ADDRESS_KINDS: Final = {
    kind.value: kind for kind in (AddressKind.NUMBER, AddressKind.SHORT_CODE, AddressKind.RFC2822)
}
_NUMBER: Final = re.compile(r"\+?\d{3,20}")


def _invalid(text: str) -> Mm7Fault:
    return Mm7Fault(StatusCode.VALIDATION_ERROR, text)


# -- writing -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """An MM7 element to write: its local name, its text or its children, its attributes."""

    name: str
    text: str | None = None
    children: Sequence["_Node"] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Style:
    """How a document spells its namespaces. The seeds show two ways: the delivery report
    declares a default namespace on each top MM7 element; the deliver declares prefixes on the
    Envelope (`mm7_prefix`)."""

    soap_prefix: str = "soap-env"
    mm7_prefix: str | None = None


_REPORT_STYLE: Final = _Style()
_DELIVER_STYLE: Final = _Style("ns1", "ns3")


def _qualified(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}" if namespace else name


def _append(parent: etree._Element, namespace: str, node: _Node, style: _Style) -> None:
    """Write `node` under `parent`, declaring the default namespace on it if `style` says so
    and `parent` is not itself an MM7 element."""
    nsmap = None
    if namespace and style.mm7_prefix is None and _namespace(parent) != namespace:
        # lxml-stubs 0.5 leaves out the None key lxml takes for the default namespace.
        nsmap = {None: namespace}
    element = etree.SubElement(
        parent,
        _qualified(namespace, node.name),
        dict(node.attributes),
        nsmap,  # type: ignore[arg-type]
    )
    element.text = node.text
    for child in node.children:
        _append(element, namespace, child, style)


def _envelope(
    namespace: str, transaction_id: str | None, style: _Style
) -> tuple[etree._Element, etree._Element]:
    """A SOAP envelope with the TransactionID header (if any); returns it and its Body."""
    nsmap = {style.soap_prefix: SOAP_ENV}
    if namespace and style.mm7_prefix is not None:
        nsmap[style.mm7_prefix] = namespace
    envelope = etree.Element(_qualified(SOAP_ENV, "Envelope"), nsmap=nsmap)
    if transaction_id is not None:
        header = etree.SubElement(envelope, _qualified(SOAP_ENV, "Header"))
        must_understand = {_qualified(SOAP_ENV, "mustUnderstand"): "1"}
        _append(
            header, namespace, _Node("TransactionID", transaction_id, (), must_understand), style
        )
    return envelope, etree.SubElement(envelope, _qualified(SOAP_ENV, "Body"))


def _serialise(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, encoding="UTF-8", xml_declaration=True, standalone=True)


def _soap_document(
    namespace: str, transaction_id: str | None, operation: _Node, style: _Style = _REPORT_STYLE
) -> bytes:
    """A SOAP envelope whose Body holds `operation`, in `namespace` ("" for none)."""
    envelope, body = _envelope(namespace, transaction_id, style)
    _append(body, namespace, operation, style)
    return _serialise(envelope)


def _status(code: int, text: str, details: str | None = None) -> _Node:
    children = [_Node("StatusCode", str(int(code))), _Node("StatusText", text)]
    if details is not None:
        children.append(_Node("Details", details))
    return _Node("Status", children=children)


def submit_response(header: RequestHeader, version: str, message_id: str) -> bytes:
    """The SubmitRsp, in the request's namespace, echoing its TransactionID and MM7Version."""
    operation = _Node(
        "SubmitRsp",
        children=[
            _Node("MM7Version", header.mm7_version or version),
            _status(StatusCode.SUCCESS, StatusCode.SUCCESS.phrase),
            _Node("MessageID", message_id),
        ],
    )
    return _soap_document(header.namespace, header.transaction_id, operation)


def fault(
    header: RequestHeader,
    version: str,
    code: int,
    phrase: str,
    details: str,
) -> bytes:
    """A SOAP 1.1 Fault whose detail is the MMSC's RSErrorRsp. 3xxx and 4006 blame the MMSC
    (faultcode Server); 2xxx and other 4xxx blame the request (Client)."""
    envelope, body = _envelope(header.namespace, header.transaction_id, _REPORT_STYLE)
    soap_fault = etree.SubElement(body, _qualified(SOAP_ENV, "Fault"))
    # faultcode, faultstring and detail are unqualified in SOAP 1.1.
    side = "Server" if 3000 <= code < 4000 or code == StatusCode.SERVICE_UNAVAILABLE else "Client"
    etree.SubElement(soap_fault, "faultcode").text = f"{_REPORT_STYLE.soap_prefix}:{side}"
    etree.SubElement(soap_fault, "faultstring").text = phrase
    detail = etree.SubElement(soap_fault, "detail")
    response = _Node(
        "RSErrorRsp",
        children=[
            _Node("MM7Version", header.mm7_version or version),
            _status(code, phrase, details),
        ],
    )
    _append(detail, header.namespace, response, _REPORT_STYLE)
    return _serialise(envelope)


def _address(value: Address) -> _Node:
    return _Node(value.kind.value, value.value)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One DeliveryReportReq's content (the seed's elements)."""

    message_id: str
    recipient: Address
    sender: Address
    date: datetime  # when the MM was submitted
    mm_status: str
    status_text: str
    ua_prof: str | None = None  # the handset's, once it has retrieved the MM


def delivery_report_request(
    report: DeliveryReport, *, namespace: str, version: str, transaction_id: str
) -> bytes:
    """The delivery report seed's document."""
    children = [
        _Node("MM7Version", version),
        _Node("MessageID", report.message_id),
        _Node("Recipient", children=[_address(report.recipient)]),
        _Node("Sender", children=[_address(report.sender)]),
        _Node("Date", _timestamp(report.date)),
        _Node("MMStatus", report.mm_status),
        _Node("StatusText", report.status_text),
    ]
    if report.ua_prof is not None:
        children.append(_Node("UACapabilities", attributes={"UAProf": report.ua_prof}))
    return _soap_document(namespace, transaction_id, _Node("DeliveryReportReq", children=children))


@dataclass(frozen=True, slots=True)
class MoMessage:
    """A mobile-originated MM: numbers without '+', as the deliver seed writes them."""

    sender: str
    recipient: str
    subject: str | None
    parts: Sequence[ContentPart]
    timestamp: datetime
    ua_prof: str | None = None


def deliver_request(
    message: MoMessage, *, namespace: str, version: str, transaction_id: str
) -> tuple[str, bytes]:
    """The deliver seed's request, content included; returns the Content-Type and the body.
    The seed's LinkedID repeats the TransactionID."""
    children = [
        _Node("MM7Version", version),
        _Node("LinkedID", transaction_id),
        _Node("Sender", children=[_Node("Number", message.sender)]),
        _Node(
            "Recipients",
            children=[
                _Node(
                    "To",
                    children=[_Node("Number", message.recipient, (), {"displayOnly": "false"})],
                )
            ],
        ),
        _Node("TimeStamp", _timestamp(message.timestamp)),
        _Node("Priority", "Normal"),
    ]
    if message.subject is not None:
        children.append(_Node("Subject", message.subject))
    if message.ua_prof is not None:
        children.append(_Node("UACapabilities", attributes={"UAProf": message.ua_prof}))
    if message.parts:
        content = {"href": f"cid:{_CONTENT_ID}", "allowAdaptations": "true"}
        children.append(_Node("Content", attributes=content))
    operation = _Node("DeliverReq", children=children)
    soap = _soap_document(namespace, transaction_id, operation, _DELIVER_STYLE)
    return related(soap, message.parts)


@dataclass(frozen=True, slots=True)
class _MimePart:
    headers: Sequence[tuple[str, str]]
    body: bytes


def _boundary(bodies: Iterable[bytes]) -> str:
    """A boundary, in the seed's style, that none of the bodies contains."""
    contents = list(bodies)
    while True:
        boundary = f"----=_Part_{secrets.randbelow(10**6)}_{secrets.token_hex(8)}"
        if not any(boundary.encode() in body for body in contents):
            return boundary


def _multipart(parts: Sequence[_MimePart], boundary: str) -> bytes:
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        for name, value in part.headers:
            out += f"{name}: {value}\r\n".encode()
        out += b"\r\n" + part.body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def related(soap: bytes, content: Sequence[ContentPart] = ()) -> tuple[str, bytes]:
    """SOAP with attachments (RFC 2387), the deliver seed's framing: the SOAP part, then the
    content parts in one multipart/mixed; returns the Content-Type and the body."""
    parts = [
        _MimePart([("Content-Type", XML_CONTENT_TYPE), ("Content-ID", f"<{_SOAP_START}>")], soap)
    ]
    if content:
        leaves = [_leaf(index, part) for index, part in enumerate(content)]
        inner = _boundary(leaf.body for leaf in leaves)
        mixed = [
            ("Content-Type", f'multipart/mixed; boundary="{inner}"'),
            ("Content-ID", f"<{_CONTENT_ID}>"),
        ]
        parts.append(_MimePart(mixed, _multipart(leaves, inner)))
    outer = _boundary(part.body for part in parts)
    content_type = (
        f'multipart/related; start="<{_SOAP_START}>"; type="text/xml"; boundary="{outer}"'
    )
    return content_type, _multipart(parts, outer)


def _leaf(index: int, part: ContentPart) -> _MimePart:
    charset = f"; charset={part.charset}" if part.charset else ""
    return _MimePart(
        [
            ("Content-Type", part.content_type + charset),
            ("Content-Transfer-Encoding", "binary"),
            # The seed writes these Content-IDs bare, without angle brackets.
            ("Content-ID", part.content_id or f"part_{index}"),
        ],
        part.data,
    )


def _timestamp(moment: datetime) -> str:
    """UTC with milliseconds and a Z, as the seeds' `2015-03-16T14:03:51.749Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- reading -------------------------------------------------------------------


def _local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _namespace(element: etree._Element) -> str:
    return etree.QName(element).namespace or ""


def _by_name(parent: etree._Element | None) -> dict[str, etree._Element]:
    """The element children by local name, the first of each."""
    found: dict[str, etree._Element] = {}
    for child in [] if parent is None else parent:
        if isinstance(child.tag, str):
            found.setdefault(_local_name(child), child)
    return found


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _parse_xml(data: bytes) -> etree._Element:
    if b"<!DOCTYPE" in data:
        raise _invalid("a document type declaration")
    try:
        return etree.fromstring(data, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise _invalid(f"not well-formed XML: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Body:
    """A SOAP-with-attachments body: the SOAP document, and the leaf parts by the Content-ID
    of the part that holds them (a leaf itself, or a multipart/mixed)."""

    soap: bytes
    parts: Mapping[str, tuple[ContentPart, ...]]


def _cid(value: object) -> str:
    return str(value or "").strip().removeprefix("<").removesuffix(">")


def _read_leaf(part: EmailMessage) -> ContentPart:
    data = part.get_payload(decode=True)
    return ContentPart(
        content_type=part.get_content_type(),
        data=data if isinstance(data, bytes) else b"",
        content_id=_cid(part["Content-ID"]) or None,
        content_location=str(part["Content-Location"]) if part["Content-Location"] else None,
        charset=part.get_content_charset(),
    )


def _read_body(content_type: str | None, body: bytes) -> _Body:
    """Split the body with the standard library's MIME parser; plain SOAP when it is no
    multipart."""
    if len(body) > MAX_BODY_BYTES:
        raise Mm7Fault(StatusCode.MULTIMEDIA_CONTENT_REFUSED, "body over the MMSC's limit")
    media = (content_type or "").strip()
    if not media.lower().startswith("multipart/"):
        return _Body(body, {})
    headers = f"Content-Type: {media}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(headers + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart() or message.defects:
        raise _invalid("the multipart body cannot be read")
    parts = [p for p in message.iter_parts() if isinstance(p, EmailMessage)]
    if not parts:
        raise _invalid("a multipart body without parts")
    start = _cid(message.get_param("start"))
    root = next((p for p in parts if start and _cid(p["Content-ID"]) == start), parts[0])
    soap = root.get_payload(decode=True)
    found: dict[str, tuple[ContentPart, ...]] = {}
    for part in parts:
        if part is root:
            continue
        leaves = [p for p in part.walk() if isinstance(p, EmailMessage) and not p.is_multipart()]
        found[_cid(part["Content-ID"])] = tuple(_read_leaf(leaf) for leaf in leaves)
        for leaf in leaves:  # a leaf is also named by its own Content-ID
            found.setdefault(_cid(leaf["Content-ID"]), (_read_leaf(leaf),))
    return _Body(soap if isinstance(soap, bytes) else b"", found)


def _soap(envelope: etree._Element) -> tuple[etree._Element, etree._Element | None]:
    """The first element of the SOAP Body, and the SOAP Header if there is one."""
    if _local_name(envelope) != "Envelope":
        raise _invalid("not a SOAP envelope")
    parts = _by_name(envelope)
    body = parts.get("Body")
    operation = None if body is None else next(iter(_by_name(body).values()), None)
    if operation is None:
        raise _invalid("no element in the SOAP Body")
    return operation, parts.get("Header")


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """A SubmitReq that passed the checks; `recipients` are To, Cc and Bcc in that order."""

    header: RequestHeader
    transaction_id: str  # the header's, which a SubmitReq must have
    vasp_id: str
    vas_id: str
    sender: Address | None
    recipients: tuple[Address, ...]
    subject: str | None
    delivery_report: bool
    parts: tuple[ContentPart, ...]


def parse_submit(content_type: str | None, body: bytes) -> SubmitRequest:
    """Read and check a SubmitReq. Raises Mm7Fault: 4004 malformed or incomplete, 4003 another
    operation, 2004 content over the size limit; once the SOAP header is read, the fault
    carries it to echo."""
    message = _read_body(content_type, body)
    operation, soap_header = _soap(_parse_xml(message.soap))
    fields = _by_name(operation)
    header = RequestHeader(
        namespace=_namespace(operation),
        transaction_id=_text(_by_name(soap_header).get("TransactionID")),
        mm7_version=_text(fields.get("MM7Version")),
    )
    try:
        return _read_submit(_local_name(operation), fields, header, message)
    except Mm7Fault as exc:
        raise Mm7Fault(exc.status_code, exc.text, header) from exc


def _read_submit(
    operation: str, fields: dict[str, etree._Element], header: RequestHeader, message: _Body
) -> SubmitRequest:
    if operation != "SubmitReq":
        raise Mm7Fault(StatusCode.UNSUPPORTED_OPERATION, f"unsupported operation {operation[:100]}")
    transaction_id = header.transaction_id
    if transaction_id is None:
        raise _invalid("no TransactionID in the SOAP header")
    if header.mm7_version is None:
        raise _invalid("SubmitReq has no MM7Version")
    identification = _by_name(fields.get("SenderIdentification"))
    sender = _addresses(identification.get("SenderAddress"))
    recipients_element = fields.get("Recipients")
    recipients = tuple(
        found
        for kind in ("To", "Cc", "Bcc")
        for element in ([] if recipients_element is None else recipients_element)
        if isinstance(element.tag, str) and _local_name(element) == kind
        for found in _addresses(element)
    )
    if not recipients:
        raise _invalid("SubmitReq has no recipient")
    return SubmitRequest(
        header=header,
        transaction_id=transaction_id,
        vasp_id=_required(identification, "VASPID"),
        vas_id=_required(identification, "VASID"),
        sender=sender[0] if sender else None,
        recipients=recipients,
        subject=_text(fields.get("Subject")),
        # 23.140 makes reports opt-in; aggregators send them unless told not to (the seed).
        delivery_report=_text(fields.get("DeliveryReport")) not in ("false", "0"),
        parts=_content(fields.get("Content"), message),
    )


def _required(fields: dict[str, etree._Element], name: str) -> str:
    if (value := _text(fields.get(name))) is None:
        raise _invalid(f"SenderIdentification has no {name}")
    return value


def _addresses(element: etree._Element | None) -> list[Address]:
    """The Number, ShortCode and RFC2822Address children; a Number must be digits."""
    found: list[Address] = []
    for child in [] if element is None else element:
        if not isinstance(child.tag, str):
            continue
        kind = _ADDRESS_KINDS.get(_local_name(child))
        value = _text(child)
        if kind is None or value is None:
            continue
        if kind is AddressKind.NUMBER and not _NUMBER.fullmatch(value):
            raise _invalid(f"malformed Number {value[:30]!r}")
        found.append(Address(value, kind))
    return found


def _content(content: etree._Element | None, message: _Body) -> tuple[ContentPart, ...]:
    """The parts the Content element's `cid:` href names; it must name one that was sent."""
    if content is None:
        return ()
    href = next((v for k, v in content.attrib.items() if etree.QName(k).localname == "href"), "")
    scheme, _, reference = str(href).partition(":")
    wanted = _cid(unquote(reference))
    if scheme.lower() != "cid" or not wanted:
        raise _invalid("Content has no cid: href")
    if wanted not in message.parts:
        raise _invalid(f"Content href {str(href)[:100]!r} names no part of the request")
    return message.parts[wanted]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a VASP answered: the Body's element (`Fault` for a fault), its StatusCode and the
    TransactionID it echoed, if any."""

    operation: str
    status_code: int | None
    transaction_id: str | None


def read_answer(content_type: str | None, body: bytes) -> Answer:
    """Read a VASP's answer; Mm7Fault 4004 when it is not SOAP."""
    operation, soap_header = _soap(_parse_xml(_read_body(content_type, body).soap))
    name = _local_name(operation)
    response: etree._Element | None = operation
    if name == "Fault":  # the MM7 status is in the detail's VASPErrorRsp
        detail = _by_name(operation).get("detail")
        response = None if detail is None else next(iter(_by_name(detail).values()), None)
    code = _text(_by_name(_by_name(response).get("Status")).get("StatusCode"))
    return Answer(
        operation=name,
        status_code=int(code) if code is not None and code.isdecimal() else None,
        transaction_id=_text(_by_name(soap_header).get("TransactionID")),
    )
