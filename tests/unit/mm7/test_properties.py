"""Bounded fuzzing of the MM7 parsers (mime, xml, parsing), in CI with a fixed budget: the
corpus mutated byte by byte, arbitrary bytes, and generated requests that reach what byte
mutations rarely do (nested attachments in every transfer encoding up to and past the limits,
envelopes in any namespace with any text). parse_request returns a request or raises
Mm7Error, nothing else; whatever it gives, the answer built from it is well-formed SOAP."""

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.mm7 import (
    MAX_DEPTH,
    MAX_PARTS,
    DeliverRequest,
    Mm7Error,
    StatusCode,
    fault,
    parse_request,
    reply,
)
from gateway.mm7.model import NAMESPACES
from gateway.mm7.replies import MAX_TEXT
from tests.unit.mm7.corpus import NS, SOAP_ENV, Fixture, load, names

CORPUS = [load(name) for name in names()]
PROPERTY = settings(max_examples=200, deadline=1000, database=None)
HEADER_LINE = re.compile(rb"(?m)^[A-Za-z-]+:[^\r\n]*\r?\n")
OUTCOMES = {
    StatusCode.SUCCESS,
    StatusCode.VALIDATION_ERROR,
    StatusCode.UNSUPPORTED_OPERATION,
    StatusCode.MULTIMEDIA_CONTENT_REFUSED,
}
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "text/xml",
            "application/xml",
            "multipart/related",
            "multipart/related; boundary=",
            'multipart/related; boundary=""; start=""',
            "multipart/mixed; boundary=b",
            "application/octet-stream",
            "text/plain; charset=utf-16",
            ";;;==",
        ]
    ),
    st.text(max_size=80),
)

Body = tuple[str | None, bytes]


def truncate(draw: st.DrawFn, fixture: Fixture) -> Body:
    return fixture.content_type, fixture.body[: draw(st.integers(0, len(fixture.body)))]


def flip_bytes(draw: st.DrawFn, fixture: Fixture) -> Body:
    body = bytearray(fixture.body)
    if body:
        for _ in range(draw(st.integers(1, 8))):
            body[draw(st.integers(0, len(body) - 1))] ^= draw(st.integers(1, 255))
    return fixture.content_type, bytes(body)


def insert_bytes(draw: st.DrawFn, fixture: Fixture) -> Body:
    at = draw(st.integers(0, len(fixture.body)))
    noise = draw(
        st.binary(min_size=1, max_size=64) | st.sampled_from([b"\r\n", b"\n\n", b"--", b"<"])
    )
    return fixture.content_type, fixture.body[:at] + noise + fixture.body[at:]


def header_lines(draw: st.DrawFn, fixture: Fixture) -> re.Match[bytes] | None:
    lines = list(HEADER_LINE.finditer(fixture.body))
    return draw(st.sampled_from(lines)) if lines else None


def duplicate_header(draw: st.DrawFn, fixture: Fixture) -> Body:
    line = header_lines(draw, fixture)
    if line is None:
        return fixture.content_type, fixture.body
    copy = (
        line[0]
        if draw(st.booleans())
        else line[0].split(b":")[0] + b": " + draw(st.binary(max_size=20)) + b"\r\n"
    )
    return fixture.content_type, fixture.body[: line.start()] + copy + fixture.body[line.start() :]


def remove_header(draw: st.DrawFn, fixture: Fixture) -> Body:
    line = header_lines(draw, fixture)
    if line is None:
        return fixture.content_type, fixture.body
    return fixture.content_type, fixture.body[: line.start()] + fixture.body[line.end() :]


def change_boundary(draw: st.DrawFn, fixture: Fixture) -> Body:
    content_type = fixture.content_type or ""
    found = re.search(r'boundary="?([^";]+)', content_type, re.IGNORECASE)
    if found is None:
        return fixture.content_type, fixture.body
    new = draw(st.text(st.characters(codec="ascii"), max_size=20))
    if draw(st.booleans()):  # in the header only, or in the body only
        return content_type.replace(found[1], new), fixture.body
    return content_type, fixture.body.replace(
        found[1].encode(), new.encode(), draw(st.integers(1, 3))
    )


def random_content_type(draw: st.DrawFn, fixture: Fixture) -> Body:
    content_type = draw(CONTENT_TYPES)
    assert content_type is None or isinstance(content_type, str)
    return content_type, fixture.body


MUTATIONS = [
    truncate,
    flip_bytes,
    insert_bytes,
    duplicate_header,
    remove_header,
    change_boundary,
    random_content_type,
]


@st.composite
def mutated(draw: st.DrawFn) -> Body:
    fixture = draw(st.sampled_from(CORPUS))
    content_type, body = fixture.content_type, fixture.body
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        content_type, body = mutation(draw, Fixture(fixture.name, content_type, body))
    return content_type, body


def answer_is_well_formed(content_type: str | None, body: bytes) -> etree._Element:
    try:
        request = parse_request(content_type, body)
    except Mm7Error as error:
        answer, code = fault(error), error.status_code
    else:
        answer, code = reply(request), StatusCode.SUCCESS
    assert code in OUTCOMES
    root = etree.fromstring(answer.body)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"
    return root


@PROPERTY
@given(mutated())
def test_mutated_corpus(request: Body) -> None:
    answer_is_well_formed(*request)


@PROPERTY
@given(st.one_of(st.none(), st.text(max_size=80)), st.binary(max_size=512))
def test_arbitrary_bytes(content_type: str | None, body: bytes) -> None:
    answer_is_well_formed(content_type, body)


# -- generated envelopes ------------------------------------------------------------------

# Any character XML 1.0 carries, markup characters included (the answer must escape them).
XML_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Cn"])
    | st.sampled_from("\t\n<&>'\""),
    max_size=40,
)
OPERATIONS = ["DeliveryReportReq", "DeliverReq", "ReadReplyReq", "CancelReq", "VASPErrorRsp"]
FIELDS = [
    "MM7Version",
    "MessageID",
    "MMStatus",
    "StatusText",
    "Date",
    "TimeStamp",
    "Subject",
    "LinkedID",
    "Priority",
    "Content",
    "Recipient",
    "Sender",
    "SenderAddress",
    "Recipients",
]
ADDRESS_KINDS = ["Number", "ShortCode", "RFC2822Address", "To"]


@dataclass(frozen=True)
class Envelope:
    body: bytes
    namespace: str  # of the operation, "" for none
    transaction_id: str | None  # as written; None: no TransactionID element


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope:
    """A SOAP envelope with an operation and fields in any order, namespace, prefix, text."""
    namespace = draw(
        st.sampled_from(["", *NAMESPACES])
        | st.from_regex(r"urn:[a-z0-9&'/:.-]{1,40}", fullmatch=True)
    )
    # The None prefix is the default namespace (lxml takes it; lxml-stubs want str).
    prefixes: list[Any] = [None, "mm7", "ns1"]
    nsmap = {draw(st.sampled_from(prefixes)): namespace} if namespace else {}

    def element(parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, etree.QName(namespace or None, name), nsmap=nsmap)

    root = etree.Element(etree.QName(SOAP_ENV, "Envelope"), nsmap={"env": SOAP_ENV})
    transaction_id = draw(st.none() | XML_TEXT)
    if transaction_id is not None:
        header = etree.SubElement(root, etree.QName(SOAP_ENV, "Header"))
        element(header, "TransactionID").text = transaction_id
    operation = element(
        etree.SubElement(root, etree.QName(SOAP_ENV, "Body")), draw(st.sampled_from(OPERATIONS))
    )
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=10)):
        field = element(operation, name)
        kinds = draw(st.lists(st.sampled_from(ADDRESS_KINDS), max_size=3))
        for kind in kinds:
            element(field, kind).text = draw(XML_TEXT)
        if not kinds:
            field.text = draw(XML_TEXT)
        if name == "Content" and draw(st.booleans()):
            field.set("href", draw(XML_TEXT))
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "iso-8859-1"]))
    body = etree.tostring(root, encoding=encoding, xml_declaration=True)
    assert isinstance(body, bytes)
    return Envelope(body, namespace, transaction_id)


@PROPERTY
@given(envelopes(), st.sampled_from([None, "text/xml", "application/xml; charset=utf-8"]))
def test_generated_envelopes_are_answered_in_their_namespace_with_their_transaction(
    envelope: Envelope, content_type: str | None
) -> None:
    root = answer_is_well_formed(content_type, envelope.body)
    transaction_id = (envelope.transaction_id or "").strip()[:MAX_TEXT] or None
    echoed = [element.text for element in root.iterfind(f"{{{SOAP_ENV}}}Header/*")]
    assert echoed == ([] if transaction_id is None else [transaction_id])
    [response] = [e for e in root.iter() if etree.QName(e).localname.endswith("Rsp")]
    assert etree.QName(response).namespace == (envelope.namespace or None)


# -- generated attachments ----------------------------------------------------------------

DELIVER = (
    f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{SOAP_ENV}"><env:Body>'
    f'<DeliverReq xmlns="{NS}REL-6-MM7-1-4"><MM7Version>6.8.0</MM7Version>'
    "<Sender><Number>+33600000000</Number></Sender></DeliverReq></env:Body></env:Envelope>"
).encode()
# Every boundary of a body starts so (then a number); no part's data holds it.
BOUNDARY = "=_part"
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "binary": lambda data: data,
    "8bit": lambda data: data,
    "base64": base64.encodebytes,
    "quoted-printable": lambda data: binascii.b2a_qp(data, istext=False),
}


@dataclass(frozen=True)
class Leaf:
    media_type: str
    data: bytes
    encoding: str  # a key of ENCODERS, in any case
    content_id: str | None


@dataclass(frozen=True)
class Container:
    parts: tuple["Leaf | Container", ...]


Node = Leaf | Container

LEAVES = st.builds(
    Leaf,
    media_type=st.sampled_from(["image/jpeg", "Image/PNG", "text/plain", "application/smil"]),
    data=st.binary(max_size=128).filter(lambda data: b"--" + BOUNDARY.encode() not in data),
    encoding=st.sampled_from([*ENCODERS, "BASE64", "Quoted-Printable"]),
    content_id=st.none() | st.from_regex(r"[a-z0-9.@_-]{1,20}", fullmatch=True),
)
TREES: st.SearchStrategy[Node] = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=5).map(lambda parts: Container(tuple(parts))),
    max_leaves=40,
)


class _Writer:
    """Writes a tree as MIME, each multipart with its own boundary."""

    def __init__(self, newline: bytes) -> None:
        self.newline = newline
        self.boundaries = 0

    def headers(self, *lines: str) -> bytes:
        return b"".join(line.encode() + self.newline for line in lines) + self.newline

    def multipart(self, boundary: str, parts: list[bytes]) -> bytes:
        delimiter = b"--" + boundary.encode()
        body = b"".join(delimiter + self.newline + part + self.newline for part in parts)
        return body + delimiter + b"--" + self.newline

    def entity(self, node: Node) -> bytes:
        if isinstance(node, Leaf):
            lines = [f"Content-Type: {node.media_type}"]
            lines.append(f"Content-Transfer-Encoding: {node.encoding}")
            if node.content_id is not None:
                lines.append(f"Content-ID: <{node.content_id}>")
            return self.headers(*lines) + ENCODERS[node.encoding.lower()](node.data)
        self.boundaries += 1
        boundary = f"{BOUNDARY}{self.boundaries}"
        return self.headers(f'Content-Type: multipart/mixed; boundary="{boundary}"') + (
            self.multipart(boundary, [self.entity(part) for part in node.parts])
        )


def _count(node: Node) -> int:
    return 1 + (sum(map(_count, node.parts)) if isinstance(node, Container) else 0)


def _too_deep(node: Node, depth: int = 1) -> bool:
    """An attachment is at depth 1, its parts at 2...: a multipart from MAX_DEPTH on is refused."""
    return isinstance(node, Container) and (
        depth >= MAX_DEPTH or any(_too_deep(part, depth + 1) for part in node.parts)
    )


def _leaves(node: Node) -> list[Leaf]:
    return (
        [leaf for part in node.parts for leaf in _leaves(part)]
        if isinstance(node, Container)
        else [node]
    )


@PROPERTY
@given(attachments=st.lists(TREES, max_size=4), newline=st.sampled_from([b"\r\n", b"\n"]))
def test_generated_attachments_come_back_byte_for_byte_within_the_limits(
    attachments: list[Node], newline: bytes
) -> None:
    writer = _Writer(newline)
    soap = writer.headers("Content-Type: text/xml; charset=utf-8", "Content-ID: <soap>") + DELIVER
    body = writer.multipart(f"{BOUNDARY}0", [soap, *map(writer.entity, attachments)])
    content_type = f'multipart/related; boundary="{BOUNDARY}0"; type="text/xml"; start="<soap>"'
    parts = 1 + sum(map(_count, attachments))  # the SOAP part and containers count too
    if parts > MAX_PARTS or any(map(_too_deep, attachments)):
        with pytest.raises(Mm7Error) as refused:
            parse_request(content_type, body)
        assert refused.value.status_code is StatusCode.MULTIMEDIA_CONTENT_REFUSED
        return
    request = parse_request(content_type, body)
    assert isinstance(request, DeliverRequest)
    expected = [leaf for attachment in attachments for leaf in _leaves(attachment)]
    assert [(p.content_type, p.data, p.content_id) for p in request.parts] == [
        (leaf.media_type.lower(), leaf.data, leaf.content_id) for leaf in expected
    ]
