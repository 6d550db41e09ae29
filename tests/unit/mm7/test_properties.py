"""The corpus, mutated: parse_request returns a request or raises Mm7Error, nothing else, and
whatever it gives, the answer built from it is well-formed SOAP."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.mm7 import Mm7Error, StatusCode, fault, parse_request, reply
from tests.unit.mm7.corpus import SOAP_ENV, Fixture, load, names

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


def answer_is_well_formed(content_type: str | None, body: bytes) -> None:
    try:
        request = parse_request(content_type, body)
    except Mm7Error as error:
        answer, code = fault(error), error.status_code
    else:
        answer, code = reply(request), StatusCode.SUCCESS
    assert code in OUTCOMES
    root = etree.fromstring(answer.body)
    assert root.tag == f"{{{SOAP_ENV}}}Envelope"


@PROPERTY
@given(mutated())
def test_mutated_corpus(request: Body) -> None:
    answer_is_well_formed(*request)


@PROPERTY
@given(st.one_of(st.none(), st.text(max_size=80)), st.binary(max_size=512))
def test_arbitrary_bytes(content_type: str | None, body: bytes) -> None:
    answer_is_well_formed(content_type, body)
