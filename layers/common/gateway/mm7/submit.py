"""MM7_submit (3GPP TS 23.140): the gateway as a VASP sending an MM. Pure code: no I/O.

`build_submit` writes the HTTP body of a SubmitReq and its Content-Type;
`parse_submit_response` reads what the MMSC answers (a SubmitRsp or a SOAP Fault);
`gateway.mms.client` posts the one and hands the other back.

The body is SOAP with attachments (multipart/related, RFC 2387): the SOAP part, then the MM's
content as one multipart/mixed part that the SubmitReq's Content href names. Every part is
sent as Content-Transfer-Encoding binary, its bytes as they are: nothing to encode or decode,
so nothing to get wrong on the way to the handset, and no third more on the wire against the
MMSC's size limit (the seed's MMSC frames its own content the same way). What makes binary
safe is the boundary: each is random and checked against the bytes it frames.

Documents are written from templates and escaped as the replies to an MMSC are
(`gateway.mm7.replies`); responses are read with the inbound codec's splitter, hardened
parser and local-name look-ups, so a prefix or namespace choice of the MMSC does not matter.
"""

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from gateway.mm7 import xml
from gateway.mm7.errors import Mm7Error, StatusCode
from gateway.mm7.mime import read_body
from gateway.mm7.model import DEFAULT_NAMESPACE, DEFAULT_VERSION, AddressKind, RequestHeader
from gateway.mm7.parsing import MAX_ID_CHARS, soap_operation
from gateway.mm7.replies import envelope, namespace_prefix, xml_text

CRLF = b"\r\n"
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
# 23.140's codes a SubmitRsp is read with, beside errors.StatusCode's.
PARTIAL_SUCCESS = 1100  # accepted for some recipients: the gateway sends to one
CLIENT_ERROR = 2000

_ID_DOMAIN = "carrier-gateway"  # the right-hand side of the Content-IDs written here
# RFC 6838's restricted names: no parameters, no white space, nothing to break a header.
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]{0,126}/[A-Za-z0-9][\w!#$&^.+-]{0,126}", re.A)
_CHARSET = re.compile(r"[A-Za-z0-9!#$%&'+^_`{}~.-]{1,40}")
_NOT_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_INTERNATIONAL = re.compile(r"\+?([1-9][0-9]{2,14})")  # E.164 digits

_SUBMIT_REQ = (
    "<{p}SubmitReq><{p}MM7Version>{version}</{p}MM7Version>"
    "<{p}SenderIdentification><{p}VASPID>{vasp_id}</{p}VASPID><{p}VASID>{vas_id}</{p}VASID>"
    "<{p}SenderAddress><{p}{kind}>{sender}</{p}{kind}></{p}SenderAddress>"
    "</{p}SenderIdentification>"
    "<{p}Recipients><{p}To><{p}Number>{recipient}</{p}Number></{p}To></{p}Recipients>"
    "<{p}ServiceCode>{service_code}</{p}ServiceCode>"
    "<{p}DeliveryReport>{delivery_report}</{p}DeliveryReport>{subject}"
    '<{p}Content href="cid:{content_id}" allowAdaptations="true"/>'
    "</{p}SubmitReq>"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSettings:
    """The VASP's identity at the MMSC and how to speak to it, from configuration."""

    vasp_id: str
    vas_id: str
    sender_address: str
    service_code: str
    sender_kind: AddressKind = AddressKind.SHORT_CODE  # or NUMBER: international, + optional
    mm7_version: str = DEFAULT_VERSION
    namespace: str = DEFAULT_NAMESPACE
    delivery_report: bool = True

    def __post_init__(self) -> None:
        if self.sender_kind not in (AddressKind.SHORT_CODE, AddressKind.NUMBER):
            raise ValueError(f"sender_kind: ShortCode or Number, not {self.sender_kind}")
        if not self.namespace:
            raise ValueError("namespace: a SubmitReq is written in one of 23.140's namespaces")

    def sender(self) -> str:
        if self.sender_kind is AddressKind.NUMBER:
            return _international(self.sender_address, "sender_address")
        return self.sender_address


@dataclass(frozen=True, slots=True)
class OutboundPart:
    """One part of the MM: `data` is what the handset must get, byte for byte."""

    content_type: str  # type/subtype, without parameters
    data: bytes
    charset: str | None = None  # text/*: utf-8 unless told
    name: str | None = None  # a file name, sent as the Content-Location

    def __post_init__(self) -> None:
        # Checked here so that a header built from them cannot be broken or injected into.
        if not _MEDIA_TYPE.fullmatch(self.content_type):
            raise ValueError(f"content type {self.content_type[:100]!r} is not type/subtype")
        if self.content_type.lower().startswith("multipart/"):
            raise ValueError("a part is a single body: the content's multipart is built here")
        if self.charset is not None and not _CHARSET.fullmatch(self.charset):
            raise ValueError(f"charset {self.charset[:100]!r} is not a charset name")
        if self.charset is None and _is_text(self.content_type):
            try:
                self.data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{self.content_type} part is not UTF-8: {exc.reason}") from exc

    @classmethod
    def text(cls, value: str, name: str | None = None) -> "OutboundPart":
        return cls("text/plain", value.encode("utf-8"), "utf-8", name)

    def header_charset(self) -> str | None:
        """The charset a text part is labelled with: utf-8 unless the part says otherwise."""
        if self.charset is None and _is_text(self.content_type):
            return "utf-8"
        return self.charset


def _is_text(content_type: str) -> bool:
    return content_type.lower().startswith("text/")


def _international(number: str, field: str) -> str:
    """MM7 wants international digits without the + (the seeds: 12515550123)."""
    if (match := _INTERNATIONAL.fullmatch(number.strip())) is None:
        raise ValueError(f"{field}: not an international number")
    return match[1]


def _random_token() -> str:
    return secrets.token_hex(12)


def _boundary(label: str, framed: Sequence[bytes]) -> str:
    """A boundary found in none of `framed`, since binary content may hold any bytes (RFC 2046
    §5.1.1). The label keeps the two boundaries of a body from being prefixes of each other."""
    while True:
        boundary = f"=_{label}_{_random_token()}"
        if not any(boundary.encode("ascii") in data for data in framed):
            return boundary


def _entity(headers: Sequence[str], body: bytes) -> bytes:
    return CRLF.join(header.encode("ascii") for header in headers) + CRLF + CRLF + body


def _multipart(boundary: str, entities: Sequence[bytes]) -> bytes:
    delimiter = b"--" + boundary.encode("ascii")
    framed = b"".join(delimiter + CRLF + entity + CRLF for entity in entities)
    return framed + delimiter + b"--" + CRLF


def _leaf(part: OutboundPart, content_id: str) -> bytes:
    charset = part.header_charset()
    headers = [
        f"Content-Type: {part.content_type}" + (f"; charset={charset}" if charset else ""),
        "Content-Transfer-Encoding: binary",
        f"Content-ID: <{content_id}>",
    ]
    if part.name and (location := _NOT_FILE_NAME.sub("_", part.name)[:100]):
        headers.append(f"Content-Location: {location}")
    return _entity(headers, part.data)


def _soap(
    settings: SubmitSettings,
    transaction_id: str,
    recipient: str,
    subject: str | None,
    content_id: str,
) -> bytes:
    header = RequestHeader(settings.namespace, transaction_id, settings.mm7_version)
    prefix = namespace_prefix(header)[1]
    submit_req = _SUBMIT_REQ.format(
        p=prefix,
        version=xml_text(settings.mm7_version),
        vasp_id=xml_text(settings.vasp_id),
        vas_id=xml_text(settings.vas_id),
        kind=settings.sender_kind.value,
        sender=xml_text(settings.sender()),
        recipient=_international(recipient, "recipient"),
        service_code=xml_text(settings.service_code),
        delivery_report="true" if settings.delivery_report else "false",
        subject=""
        if subject is None
        else f"<{prefix}Subject>{xml_text(subject)}</{prefix}Subject>",
        content_id=xml_text(content_id),
    )
    # The envelope of the replies: the namespace declared once, TransactionID mustUnderstand.
    return envelope(header, submit_req, 200).body


def build_submit(
    settings: SubmitSettings,
    *,
    transaction_id: str,
    recipient: str,
    subject: str | None,
    parts: Sequence[OutboundPart],
) -> tuple[str, bytes]:
    """The HTTP Content-Type and body of a SubmitReq of `parts` to `recipient` (E.164, with or
    without +). Values are escaped; the subject is cut at `replies.MAX_TEXT` characters.
    ValueError when the recipient is no international number or there are no parts."""
    if not parts:
        raise ValueError("an MM needs at least one part")
    token = _random_token()
    soap_id, content_id = f"soap.{token}@{_ID_DOMAIN}", f"content.{token}@{_ID_DOMAIN}"
    soap = _soap(settings, transaction_id, recipient, subject, content_id)
    mixed = _boundary("mixed", [part.data for part in parts])
    leaves = [_leaf(part, f"part{index}.{token}@{_ID_DOMAIN}") for index, part in enumerate(parts)]
    content = _entity(
        [
            f'Content-Type: multipart/mixed; boundary="{mixed}"',
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <{content_id}>",
        ],
        _multipart(mixed, leaves),
    )
    soap_part = _entity(
        [
            f"Content-Type: {SOAP_CONTENT_TYPE}",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <{soap_id}>",
        ],
        soap,
    )
    related = _boundary("related", [soap, content])
    content_type = f'multipart/related; type="text/xml"; start="<{soap_id}>"; boundary="{related}"'
    return content_type, _multipart(related, [soap_part, content])


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # 1000, 1100: the MMSC took the MM; the MessageID follows it
    REJECTED = "rejected"  # 2xxx, a client error: this request will never be taken
    RETRY = "retry"  # 3xxx server, 4xxx service errors: not taken now, try again later
    UNKNOWN = "unknown"  # a code outside 23.140's classes: whether it was taken is unknown


def classify(status_code: int) -> Outcome:
    if status_code in (StatusCode.SUCCESS, PARTIAL_SUCCESS):
        return Outcome.ACCEPTED
    if 2000 <= status_code < 3000:
        return Outcome.REJECTED
    if 3000 <= status_code < 5000:
        return Outcome.RETRY
    return Outcome.UNKNOWN


@dataclass(frozen=True, slots=True)
class SubmitResult:
    status_code: int
    status_text: str | None
    message_id: str | None = None  # set when accepted: the delivery reports carry it

    @property
    def outcome(self) -> Outcome:
        return classify(self.status_code)


class MalformedResponse(ValueError):
    """An answer that is no SubmitRsp or Fault, or that accepts the MM without a MessageID."""


def _status_code(element: etree._Element | None, where: str) -> int:
    value = xml.text(element)
    if value is None or not (value.isascii() and value.isdigit()):
        raise MalformedResponse(f"{where} has no numeric StatusCode")
    return int(value)


def _response(operation: etree._Element) -> SubmitResult:
    """A SubmitRsp, or any other answer in the Body that carries a Status (an RSErrorRsp)."""
    fields = xml.by_name(operation)
    status = xml.by_name(fields.get("Status"))
    return SubmitResult(
        status_code=_status_code(status.get("StatusCode"), xml.local_name(operation)[:100]),
        status_text=xml.text(status.get("StatusText")),
        message_id=xml.text(fields.get("MessageID")),
    )


def _fault(fault: etree._Element) -> SubmitResult:
    """The MM7 status in the detail (an RSErrorRsp, at any depth), else SOAP's faultcode:
    `Client` (or `Client.Something`, SOAP 1.1 §4.4.1) blames the request, anything else the
    server."""
    fields = xml.by_name(fault)
    faultstring = xml.text(fields.get("faultstring"))
    detail = fields.get("detail")
    code = None if detail is None else next(detail.iter("{*}StatusCode"), None)
    if code is None:
        faultcode = xml.text(fields.get("faultcode")) or ""
        blamed = faultcode.rpartition(":")[2].partition(".")[0]
        status_code = CLIENT_ERROR if blamed == "Client" else StatusCode.SERVER_ERROR
        return SubmitResult(int(status_code), faultstring)
    status = xml.by_name(code.getparent())
    return SubmitResult(
        _status_code(code, "Fault"), xml.text(status.get("StatusText")) or faultstring
    )


def parse_submit_response(content_type: str | None, body: bytes) -> SubmitResult:
    """The MMSC's answer to a SubmitReq: bare XML (text/xml, application/xml) or a
    multipart/related with a SOAP part. MalformedResponse when it holds no SOAP envelope with
    a readable status, or accepts the MM without a MessageID or with one over MAX_ID_CHARS
    (its delivery reports would be refused: the gateway keeps no longer one)."""
    try:
        operation, _header = soap_operation(xml.parse(read_body(content_type, body).soap))
    except Mm7Error as exc:
        raise MalformedResponse(f"not an MM7 response: {exc.text}") from exc
    read = _fault if xml.local_name(operation) == "Fault" else _response
    result = read(operation)
    if result.outcome is not Outcome.ACCEPTED:
        return result
    if result.message_id is None:
        raise MalformedResponse(f"status {result.status_code} without a MessageID")
    if len(result.message_id) > MAX_ID_CHARS:
        raise MalformedResponse(
            f"MessageID of {len(result.message_id)} characters is over the limit of {MAX_ID_CHARS}"
        )
    return result
