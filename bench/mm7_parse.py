"""MM7 codec benchmark: `gateway.mm7` against the same work done with the standard library
(`email` for MIME, `xml.etree` for XML), in the same process and run.

(a) a DeliveryReportReq parsed and answered with a DeliveryReportRsp;
(b) a ~1 MB DeliverReq (multipart/related, nested multipart/mixed, a binary image) parsed down
    to its content parts.

Each case runs in interleaved rounds (gateway, stdlib, gateway, ...); a round's time per
operation is its total over its iterations, and the figures are medians over the rounds.
`speedup` is the stdlib's median over the gateway's: above 1, the gateway is faster.
"""

import email.parser
import email.policy
import json
import random
import statistics
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from email.message import Message

from gateway.mm7 import DeliverRequest, parse_request, reply

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


def stdlib_deliver(content_type: str, body: bytes) -> list[bytes]:
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
    return [_decoded(leaf) for leaf in target.walk() if not leaf.is_multipart()]


def gateway_deliver(content_type: str, body: bytes) -> list[bytes]:
    request = parse_request(content_type, body)
    if not isinstance(request, DeliverRequest):
        raise TypeError(f"expected a DeliverRequest, got {type(request).__name__}")
    return [part.data for part in request.parts]


def _per_operation(work: Callable[[], object], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        work()
    return (time.perf_counter() - started) / iterations


def compare(
    gateway: Callable[[], object], stdlib: Callable[[], object], iterations: int
) -> dict[str, float]:
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        ours.append(_per_operation(gateway, iterations))
        theirs.append(_per_operation(stdlib, iterations))
    gateway_s, stdlib_s = statistics.median(ours), statistics.median(theirs)
    return {
        "gateway_us": round(gateway_s * 1e6, 1),
        "stdlib_us": round(stdlib_s * 1e6, 1),
        "speedup": round(stdlib_s / gateway_s, 2),
    }


def run() -> dict[str, object]:
    report = compare(
        lambda: reply(parse_request("text/xml", DELIVERY_REPORT)).body,
        lambda: stdlib_delivery_report(DELIVERY_REPORT),
        iterations=2000,
    )
    image = random.Random(23140).randbytes(1_000_000)  # noqa: S311 - test data, not a secret
    content_type, body = deliver_body(image)
    deliver = compare(
        lambda: gateway_deliver(content_type, body),
        lambda: stdlib_deliver(content_type, body),
        iterations=5,
    )
    return {
        "delivery_report_parse_and_reply": report,
        "deliver_1mb_parse": deliver
        | {
            "body_bytes": len(body),
            "gateway_mb_per_s": round(len(body) / deliver["gateway_us"], 1),
            # Does each side hand back the image byte for byte?
            "gateway_image_intact": gateway_deliver(content_type, body)[0] == image,
            "stdlib_image_intact": stdlib_deliver(content_type, body)[0] == image,
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
