"""MM7 codec benchmark: `gateway.mm7` against the same work done by baselines, in the same
process and run.

(a) a DeliveryReportReq parsed and answered with a DeliveryReportRsp. MMSCs send it as a bare
    SOAP body (text/xml), so there is no MIME to split: the one baseline is the standard
    library's XML (`xml.etree`).
(b) a ~1 MB DeliverReq (multipart/related, nested multipart/mixed, a binary image) parsed down
    to its content parts. Two baselines: the standard library (`email` + `xml.etree`), and
    python-multipart's streaming parser splitting the MIME with the SOAP part read by the
    gateway's own XML functions, which isolates the MIME splitting.

Before timing, every contender's result is checked against the gateway's (the reply's fields;
each content part's Content-Type, Content-ID and bytes): a baseline that skipped work fails the
run instead of looking fast. Each case runs in interleaved rounds (every contender once per
round, the first one rotating); a round's time per operation is its total over its iterations,
and the figures are medians over the rounds. `<baseline>_ratio` is the baseline's median over
the gateway's: above 1, the gateway is faster.
"""

import binascii
import email.parser
import email.policy
import importlib.metadata
import json
import random
import statistics
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from email.message import Message

from python_multipart.multipart import MultipartParser, parse_options_header

from gateway.mm7 import DeliverRequest, parse_request, reply
from gateway.mm7 import xml as mm7_xml
from gateway.mm7.parsing import soap_operation

NS = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ROUNDS = 7

DELIVERY_REPORT = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}">
<soap-env:Header>
<TransactionID xmlns="{NS}" soap-env:mustUnderstand="1">10000001</TransactionID>
</soap-env:Header>
<soap-env:Body>
<DeliveryReportReq xmlns="{NS}">
<MM7Version>6.8.0</MM7Version>
<MessageID>04a3c6b2-6b1e-4f0e-9d7c-2f1f0c1e5a77</MessageID>
<Recipient><Number>447700900750</Number></Recipient>
<Sender><ShortCode>12345</ShortCode></Sender>
<Date>2024-05-01T10:00:00.000Z</Date>
<MMStatus>Retrieved</MMStatus>
<StatusText>Success</StatusText>
</DeliveryReportReq>
</soap-env:Body>
</soap-env:Envelope>
""".encode()

DELIVER_SOAP = f"""<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="{SOAP_ENV}" xmlns:mm7="{NS}">
<env:Header><mm7:TransactionID env:mustUnderstand="1">369171411769819136</mm7:TransactionID>
</env:Header>
<env:Body><mm7:DeliverReq>
<mm7:MM7Version>6.8.0</mm7:MM7Version>
<mm7:LinkedID>369171411769819136</mm7:LinkedID>
<mm7:Sender><mm7:Number>12125550123</mm7:Number></mm7:Sender>
<mm7:Recipients><mm7:To><mm7:ShortCode>222111</mm7:ShortCode></mm7:To></mm7:Recipients>
<mm7:TimeStamp>2024-05-01T12:00:00.000Z</mm7:TimeStamp>
<mm7:Subject>Photo</mm7:Subject>
<mm7:Content href="cid:default.cid" allowAdaptations="true"/>
</mm7:DeliverReq></env:Body>
</env:Envelope>""".encode()


def deliver_body(image: bytes) -> tuple[str, bytes]:
    outer, inner = b"----=_Part_outer_1", b"----=_Part_inner_2"
    mixed = (
        b"--" + inner + b"\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: binary\r\n"
        b"Content-ID: <image_0.jpg>\r\n\r\n" + image + b"\r\n"
        b"--" + inner + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-ID: <text_0.txt>\r\n\r\nA photo\r\n--" + inner + b"--\r\n"
    )
    body = (
        b"--" + outer + b"\r\nContent-Type: text/xml; charset=utf-8\r\nContent-ID: <soap-start>"
        b"\r\n\r\n" + DELIVER_SOAP + b"\r\n"
        b"--" + outer + b'\r\nContent-Type: multipart/mixed; boundary="' + inner + b'"\r\n'
        b"Content-ID: <default.cid>\r\n\r\n" + mixed + b"\r\n--" + outer + b"--\r\n"
    )
    content_type = (
        f'multipart/related; start="<soap-start>"; type="text/xml"; boundary="{outer.decode()}"'
    )
    return content_type, body


# What a contender hands back for case (b): each content part's media type (lower case, no
# parameters), Content-ID (no angle brackets) and decoded bytes.
type Part = tuple[str, str | None, bytes]


def _content_id(value: str | None) -> str | None:
    return None if value is None else value.strip().removeprefix("<").removesuffix(">")


# The stdlib baseline: the same work, written plainly.


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(parent: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in parent if _local(child.tag) == name), None)


def _text(parent: ET.Element, name: str) -> str | None:
    found = _find(parent, name)
    return None if found is None or found.text is None else found.text.strip()


def _operation(soap: bytes) -> tuple[ET.Element, str | None]:
    """The MM7 request in a SOAP envelope, and the TransactionID."""
    envelope = ET.fromstring(soap)  # noqa: S314 - the bench's own bytes
    header = _find(envelope, "Header")
    body = _find(envelope, "Body")
    if body is None:
        raise ValueError("no SOAP Body")
    return body[0], None if header is None else _text(header, "TransactionID")


def stdlib_delivery_report(body: bytes) -> bytes:
    operation, transaction_id = _operation(body)
    fields = {name: _text(operation, name) for name in ("MessageID", "MMStatus", "MM7Version")}
    namespace = operation.tag[1:].partition("}")[0]
    envelope = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    soap_header = ET.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    transaction = ET.SubElement(soap_header, f"{{{namespace}}}TransactionID")
    transaction.set(f"{{{SOAP_ENV}}}mustUnderstand", "1")
    transaction.text = transaction_id
    response = ET.SubElement(
        ET.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{namespace}}}DeliveryReportRsp"
    )
    ET.SubElement(response, f"{{{namespace}}}MM7Version").text = fields["MM7Version"]
    status = ET.SubElement(response, f"{{{namespace}}}Status")
    ET.SubElement(status, f"{{{namespace}}}StatusCode").text = "1000"
    ET.SubElement(status, f"{{{namespace}}}StatusText").text = "Success"
    serialised: bytes = ET.tostring(envelope, encoding="UTF-8", xml_declaration=True)
    return serialised


def _decoded(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise TypeError("a leaf part decodes to bytes")
    return payload


def stdlib_deliver(content_type: str, body: bytes) -> list[Part]:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    start = message.get_param("start", header="content-type")
    payload = message.get_payload()
    parts = [part for part in payload if isinstance(part, Message)]
    soap = next(part for part in parts if part["Content-ID"] == start)
    operation, _ = _operation(_decoded(soap))
    content = _find(operation, "Content")
    href = "" if content is None else content.get("href", "")
    cid = "<" + href.removeprefix("cid:") + ">"
    target: Message = next(part for part in parts if part["Content-ID"] == cid)
    return [
        (leaf.get_content_type(), _content_id(leaf["Content-ID"]), _decoded(leaf))
        for leaf in target.walk()
        if not leaf.is_multipart()
    ]


# The python-multipart baseline: its streaming parser splits the MIME; the SOAP part goes
# through the gateway's own XML functions (hardened lxml, look-ups by local name), so that
# against the gateway only the MIME splitting differs.


def _multipart_split(boundary: bytes, data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Each part's headers (names in lower case, the first of a repeated one kept) and body,
    from python-multipart's callbacks. Data and header callbacks may come in pieces (a piece
    ends wherever a boundary might start), so pieces are collected and joined once."""
    parts: list[tuple[dict[str, str], list[bytes]]] = []
    field: list[bytes] = []
    value: list[bytes] = []

    def on_part_begin() -> None:
        parts.append(({}, []))

    def on_header_field(chunk: bytes, start: int, end: int) -> None:
        field.append(chunk[start:end])

    def on_header_value(chunk: bytes, start: int, end: int) -> None:
        value.append(chunk[start:end])

    def on_header_end() -> None:
        name = b"".join(field).decode("latin-1").lower()
        parts[-1][0].setdefault(name, b"".join(value).decode("latin-1").strip())
        field.clear()
        value.clear()

    def on_part_data(chunk: bytes, start: int, end: int) -> None:
        parts[-1][1].append(chunk[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    # The whole body in one write: the function gets it whole from API Gateway, as ours does.
    parser.write(data)
    parser.finalize()
    return [(headers, b"".join(chunks)) for headers, chunks in parts]


def _transfer_decoded(headers: Mapping[str, str], data: bytes) -> bytes:
    """Content-Transfer-Encoding undone, as the gateway and `email` do."""
    encoding = headers.get("content-transfer-encoding", "binary").lower()
    if encoding == "base64":
        return binascii.a2b_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _multipart_leaves(headers: Mapping[str, str], data: bytes) -> list[Part]:
    """A part as its leaves: a multipart one split by a parser of its own, down to the leaves."""
    media_type, params = parse_options_header(headers.get("content-type"))
    decoded = _transfer_decoded(headers, data)
    if not media_type.startswith(b"multipart/"):
        return [(media_type.decode("latin-1"), _content_id(headers.get("content-id")), decoded)]
    children = _multipart_split(params[b"boundary"], decoded)
    return [leaf for child in children for leaf in _multipart_leaves(*child)]


def python_multipart_deliver(content_type: str, body: bytes) -> list[Part]:
    _, params = parse_options_header(content_type)
    parts = _multipart_split(params[b"boundary"], body)
    start = params[b"start"].decode("latin-1")
    soap_headers, soap = next(part for part in parts if part[0].get("content-id") == start)
    operation, _ = soap_operation(mm7_xml.parse(_transfer_decoded(soap_headers, soap)))
    content = mm7_xml.by_name(operation)["Content"]
    cid = "<" + (mm7_xml.attribute(content, "href") or "").removeprefix("cid:") + ">"
    target = next(part for part in parts if part[0].get("content-id") == cid)
    return _multipart_leaves(*target)


def gateway_deliver(content_type: str, body: bytes) -> list[Part]:
    request = parse_request(content_type, body)
    if not isinstance(request, DeliverRequest):
        raise TypeError(f"expected a DeliverRequest, got {type(request).__name__}")
    return [(part.content_type, part.content_id, part.data) for part in request.parts]


def _reply_fields(document: bytes) -> list[tuple[str, str | None]]:
    """Every element of a reply by local name, with its text: what an MMSC reads of it."""
    root = ET.fromstring(document)  # noqa: S314 - the bench's own bytes
    return [(_local(element.tag), element.text) for element in root.iter()]


def _check(same: bool, what: str) -> None:
    # Not `assert`: the check must hold under `python -O` too.
    if not same:
        raise AssertionError(f"the contenders disagree: {what}")


def _per_operation(work: Callable[[], object], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        work()
    return (time.perf_counter() - started) / iterations


def compare(contenders: Mapping[str, Callable[[], object]], iterations: int) -> dict[str, float]:
    """`<name>_us` for each contender (the gateway first) and `<name>_ratio` for each baseline:
    its median over the gateway's. The first contender of a round rotates, so that none always
    follows the same one (and inherits, say, its garbage to collect)."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(ROUNDS):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_per_operation(contenders[name], iterations))
    medians = {name: statistics.median(rounds) for name, rounds in times.items()}
    gateway_s = medians["gateway"]
    figures = {f"{name}_us": round(seconds * 1e6, 1) for name, seconds in medians.items()}
    for name in names[1:]:
        figures[f"{name}_ratio"] = round(medians[name] / gateway_s, 2)
    return figures


def run() -> dict[str, object]:
    _check(
        _reply_fields(reply(parse_request("text/xml", DELIVERY_REPORT)).body)
        == _reply_fields(stdlib_delivery_report(DELIVERY_REPORT)),
        "DeliveryReportRsp",
    )
    report = compare(
        {
            "gateway": lambda: reply(parse_request("text/xml", DELIVERY_REPORT)).body,
            "stdlib": lambda: stdlib_delivery_report(DELIVERY_REPORT),
        },
        iterations=2000,
    )
    image = random.Random(23140).randbytes(1_000_000)  # noqa: S311 - test data, not a secret
    content_type, body = deliver_body(image)
    parts = gateway_deliver(content_type, body)
    _check(parts[0][2] == image, "the gateway's image is not the one sent")
    _check(stdlib_deliver(content_type, body) == parts, "DeliverReq parts, stdlib")
    _check(
        python_multipart_deliver(content_type, body) == parts, "DeliverReq parts, python-multipart"
    )
    deliver = compare(
        {
            "gateway": lambda: gateway_deliver(content_type, body),
            "stdlib": lambda: stdlib_deliver(content_type, body),
            "python_multipart": lambda: python_multipart_deliver(content_type, body),
        },
        iterations=5,
    )
    return {
        "delivery_report_parse_and_reply": report,
        "deliver_1mb_parse": deliver
        | {
            "body_bytes": len(body),
            "gateway_mb_per_s": round(len(body) / deliver["gateway_us"], 1),
            # What every contender handed back, byte for byte (checked above).
            "parts": [
                {"content_type": media_type, "content_id": content_id, "bytes": len(data)}
                for media_type, content_id, data in parts
            ],
            "python_multipart_version": importlib.metadata.version("python-multipart"),
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
