"""The SOAP answers to an MMSC: a DeliveryReportRsp, DeliverRsp or ReadReplyRsp, or a Fault.

Each is written in the request's own namespace, echoes its MM7Version and, in the SOAP header
with env:mustUnderstand="1", its TransactionID (the seed: "You must return the same
transaction that was passed in the request or the transaction will not be accepted").

The documents are filled-in templates rather than lxml trees: a tree costs ten times as much
to build, and every value goes through `xml_text`, which escapes it and drops the characters XML
cannot carry, so the result is well-formed whatever the request held.
"""

import re
from dataclasses import dataclass
from xml.sax.saxutils import escape  # nosec B406 # escapes what we write, parses nothing

from gateway.mm7.errors import Mm7Error, StatusCode
from gateway.mm7.model import DEFAULT_NAMESPACE, DEFAULT_VERSION, Request, RequestHeader

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CONTENT_TYPE = "text/xml; charset=utf-8"
# An error's text can quote the request; a fault is no place for kilobytes of it.
MAX_TEXT = 300
# Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_QUOTES = {'"': "&quot;"}

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<env:Envelope xmlns:env="{soap}"{declaration}>{header}'
    "<env:Body>{body}</env:Body></env:Envelope>"
)
_HEADER = (
    '<env:Header><{p}TransactionID env:mustUnderstand="1">{transaction}</{p}TransactionID>'
    "</env:Header>"
)
_RESPONSE = (
    "<{p}{name}><{p}MM7Version>{version}</{p}MM7Version><{p}Status>"
    "<{p}StatusCode>{code}</{p}StatusCode><{p}StatusText>{text}</{p}StatusText>"
    "</{p}Status></{p}{name}>"
)
# faultcode, faultstring and detail are unqualified in SOAP 1.1.
_FAULT = (
    "<env:Fault><faultcode>env:{side}</faultcode><faultstring>{phrase}</faultstring>"
    "<detail>{response}</detail></env:Fault>"
)


@dataclass(frozen=True, slots=True)
class Reply:
    body: bytes
    # SOAP 1.1 §6.2: a Fault goes back with HTTP 500 (the MMSC will resend the request).
    http_status: int = 200
    content_type: str = CONTENT_TYPE


def xml_text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value[:MAX_TEXT]), _QUOTES)


def namespace_prefix(header: RequestHeader | None) -> tuple[str, str]:
    """The namespace to answer in and its prefix: a request in no namespace is answered in none."""
    namespace = DEFAULT_NAMESPACE if header is None else header.namespace
    return namespace, "mm7:" if namespace else ""


def _response(
    header: RequestHeader | None, name: str, status_code: StatusCode, status_text: str
) -> str:
    version = header.mm7_version if header and header.mm7_version else DEFAULT_VERSION
    return _RESPONSE.format(
        p=namespace_prefix(header)[1],
        name=name,
        version=xml_text(version),
        code=int(status_code),
        text=xml_text(status_text),
    )


def envelope(header: RequestHeader | None, body: str, http_status: int) -> Reply:
    namespace, prefix = namespace_prefix(header)
    transaction = None if header is None else header.transaction_id
    document = _ENVELOPE.format(
        soap=SOAP_ENV,
        declaration=f' xmlns:mm7="{xml_text(namespace)}"' if namespace else "",
        header=""
        if transaction is None
        else _HEADER.format(p=prefix, transaction=xml_text(transaction)),
        body=body,
    )
    return Reply(document.encode("utf-8"), http_status)


def reply(
    request: Request,
    status_code: StatusCode = StatusCode.SUCCESS,
    status_text: str | None = None,
) -> Reply:
    """The request's Rsp; 1000 "Success" unless told otherwise (a Rsp may carry a refusal too)."""
    text = status_code.phrase if status_text is None else status_text
    response = _response(request.header, request.RESPONSE, status_code, text)
    return envelope(request.header, response, 200)


def fault(error: Mm7Error) -> Reply:
    """A SOAP 1.1 Fault whose detail is the MM7 VASPErrorRsp (the gateway is the VASP here:
    RSErrorRsp is the MMSC's own)."""
    body = _FAULT.format(
        side="Server" if error.status_code.is_server_error else "Client",
        phrase=error.status_code.phrase,
        response=_response(error.header, "VASPErrorRsp", error.status_code, error.text),
    )
    return envelope(error.header, body, 500)
