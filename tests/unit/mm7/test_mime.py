"""The MIME layer: parameters, framing, transfer encodings and limits."""

import base64
import binascii

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from gateway.mm7 import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_PARTS,
    ContentPart,
    Mm7Error,
    StatusCode,
    mime,
    parse_request,
)
from gateway.mm7.mime import (
    MAX_HEADER_BYTES,
    MAX_HEADER_FIELDS,
    ContentType,
    parse_content_type,
    read_body,
)

SOAP = b'<?xml version="1.0"?><env:Envelope xmlns:env="urn:x"/>'
PROPERTY = settings(max_examples=200, deadline=1000, database=None)


def multipart(boundary: bytes, parts: list[bytes], newline: bytes = b"\r\n") -> bytes:
    body = b"".join(b"--" + boundary + newline + part + newline for part in parts)
    return body + b"--" + boundary + b"--" + newline


def leaf(headers: list[str], body: bytes, newline: bytes = b"\r\n") -> bytes:
    return newline.join(h.encode() for h in headers) + newline + newline + body


def soap_part(newline: bytes = b"\r\n") -> bytes:
    return leaf(["Content-Type: text/xml", "Content-ID: <soap>"], SOAP, newline)


def content(body: bytes, content_type: str = "multipart/related; boundary=b") -> list[ContentPart]:
    return list(read_body(content_type, body).content(None))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ContentType("", {})),
        ("text/xml", ContentType("text/xml", {})),
        (
            'Multipart/Related; BOUNDARY="a b;c"; Start=<soap>; type=text/xml',
            ContentType(
                "multipart/related", {"boundary": "a b;c", "start": "<soap>", "type": "text/xml"}
            ),
        ),
        ('text/plain; charset = "utf\\"8"', ContentType("text/plain", {"charset": 'utf"8'})),
        ("text/plain; charset=a; CHARSET=b", ContentType("text/plain", {"charset": "a"})),
        (
            "multipart/related;\r\n boundary=folded",
            ContentType("multipart/related", {"boundary": "folded"}),
        ),
    ],
)
def test_content_type_parameters(header: str | None, expected: ContentType) -> None:
    assert parse_content_type(header) == expected


@pytest.mark.parametrize("newline", [b"\r\n", b"\n"], ids=["crlf", "lf"])
@PROPERTY
@given(data=st.binary(max_size=2048))
@example(data=b"ends with CR\r")  # bare-LF framing must keep it
@example(data=b"\r\n\n\r\n")
def test_binary_parts_come_back_byte_for_byte(newline: bytes, data: bytes) -> None:
    boundary = b"=_boundary_7f3a"
    assume(boundary not in data)
    body = multipart(
        boundary,
        [
            soap_part(newline),
            leaf(["Content-Type: image/jpeg", "Content-ID: <img>"], data, newline),
        ],
        newline,
    )
    [part] = content(body, 'multipart/related; boundary="=_boundary_7f3a"')
    assert part.data == data


@given(data=st.binary(max_size=2048), width=st.integers(4, 76))
@PROPERTY
def test_base64_with_or_without_line_breaks(data: bytes, width: int) -> None:
    encoded = base64.b64encode(data)
    wrapped = b"\r\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
    for cte, payload in (("base64", encoded), ("BASE64", wrapped)):
        part = leaf([f"Content-Transfer-Encoding: {cte}", "Content-Type: image/png"], payload)
        assert content(multipart(b"b", [soap_part(), part]))[0].data == data


@given(data=st.binary(max_size=2048))
@PROPERTY
def test_quoted_printable(data: bytes) -> None:
    encoded = binascii.b2a_qp(data, istext=False)
    part = leaf(["Content-Transfer-Encoding: Quoted-Printable", "Content-Type: audio/amr"], encoded)
    assert content(multipart(b"b", [soap_part(), part]))[0].data == data


def test_a_longer_boundary_is_not_the_delimiter() -> None:
    """An inner boundary that starts with the outer one must not split the outer body."""
    inner = multipart(b"b-inner", [leaf(["Content-Type: text/plain"], b"inside")])
    body = multipart(
        b"b", [soap_part(), leaf(['Content-Type: multipart/mixed; boundary="b-inner"'], inner)]
    )
    [part] = content(body)
    assert part.data == b"inside"


def test_headers_fold_and_the_first_of_a_repeated_header_wins() -> None:
    part = leaf(
        [
            "Content-Type: text/plain;",
            '\tcharset="iso-8859-1"',
            "Content-ID: <first>",
            "Content-ID: <second>",
        ],
        b"caf\xe9",
    )
    [parsed] = content(multipart(b"b", [soap_part(), part]))
    assert (parsed.charset, parsed.content_id, parsed.text()) == ("iso-8859-1", "first", "café")


def test_a_part_without_headers_is_plain_text() -> None:
    [parsed] = content(multipart(b"b", [soap_part(), b"\r\njust text"]))
    assert (parsed.content_type, parsed.data) == ("text/plain", b"just text")


def test_preamble_epilogue_and_transport_padding_are_ignored() -> None:
    body = b"This is a multi-part message in MIME format.\r\n" + multipart(b"b", [soap_part()])
    body = body.replace(b"--b\r\n", b"--b  \t\r\n") + b"epilogue\r\n"
    assert read_body("multipart/related; boundary=b", body).soap == SOAP


def test_a_body_without_content_type_is_xml() -> None:
    assert read_body(None, SOAP).soap == SOAP


def nested(depth: int) -> bytes:
    """A top-level part holding `depth - 1` nested multiparts (the body itself is the first)."""
    part = leaf(["Content-Type: text/plain"], b"bottom")
    for level in range(depth - 1, 0, -1):
        boundary = f"level-{level}"
        part = leaf(
            [f"Content-Type: multipart/mixed; boundary={boundary}"],
            multipart(boundary.encode(), [part]),
        )
    return multipart(b"b", [soap_part(), part])


def test_nesting_up_to_the_limit() -> None:
    assert content(nested(MAX_DEPTH))[0].data == b"bottom"
    with pytest.raises(Mm7Error) as too_deep:
        content(nested(MAX_DEPTH + 1))
    assert too_deep.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED


def test_parts_up_to_the_limit() -> None:
    """The limit counts every part of the tree, the SOAP part and containers included."""
    texts = [leaf(["Content-Type: text/plain"], str(i).encode()) for i in range(MAX_PARTS - 2)]
    mixed = leaf(["Content-Type: multipart/mixed; boundary=m"], multipart(b"m", texts))
    assert len(content(multipart(b"b", [soap_part(), mixed]))) == MAX_PARTS - 2

    one_more = leaf(
        ["Content-Type: multipart/mixed; boundary=m"], multipart(b"m", [*texts, texts[0]])
    )
    with pytest.raises(Mm7Error) as too_many:
        content(multipart(b"b", [soap_part(), one_more]))
    assert too_many.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"--other\r\n\r\nx\r\n--other--", "not found"),
        (multipart(b"b", [soap_part()])[:-8], "closing boundary"),
        (multipart(b"b", [leaf(["Content-Type: text/plain"], b"x")]), "no SOAP part"),
        (
            multipart(
                b"b", [leaf(["Content-Type: text/xml", "Content-Transfer-Encoding: base64"], b"A")]
            ),
            "base64",
        ),
    ],
    ids=["no-boundary", "unclosed", "no-soap-part", "soap-part-bad-base64"],
)
def test_an_unreadable_envelope_is_a_validation_error(body: bytes, reason: str) -> None:
    with pytest.raises(Mm7Error) as refused:
        read_body("multipart/related; boundary=b", body)
    assert refused.value.status_code == StatusCode.VALIDATION_ERROR
    assert reason in refused.value.text


def test_multipart_without_boundary_parameter_or_delimiter_line() -> None:
    with pytest.raises(Mm7Error) as refused:
        read_body("multipart/related", b"no delimiter here")
    assert refused.value.status_code == StatusCode.VALIDATION_ERROR
    assert "without a boundary" in refused.value.text


# -- part headers: folded lines joined once, size and count bounded ------------------------


def folded_part(continuations: int) -> bytes:
    """A part whose Content-Description goes on for `continuations` folded lines."""
    return b"Content-Type: text/plain\r\nContent-Description: a\r\n" + (
        b" b\r\n" * continuations + b"\r\nbody"
    )


def test_folded_lines_up_to_the_header_limit_are_joined() -> None:
    # Each continuation line is 4 bytes: as many as fit in MAX_HEADER_BYTES.
    fitting = (MAX_HEADER_BYTES - len(folded_part(0)) + len(b"\r\nbody")) // 4
    [part] = content(multipart(b"b", [soap_part(), folded_part(fitting)]))
    assert part.data == b"body"
    with pytest.raises(Mm7Error) as too_long:
        content(multipart(b"b", [soap_part(), folded_part(fitting + 1)]))
    assert too_long.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED
    assert f"headers over {MAX_HEADER_BYTES} bytes" in too_long.value.text


def test_megabytes_of_folded_lines_are_refused_at_the_header_limit() -> None:
    """4.5 MB of continuation lines (once minutes of copying): refused, 2004, at once."""
    lines = (MAX_BODY_BYTES - 1000) // 4
    body = multipart(b"b", [soap_part(), folded_part(lines)])
    assert MAX_BODY_BYTES - 1000 < len(body) <= MAX_BODY_BYTES
    with pytest.raises(Mm7Error) as refused:
        parse_request("multipart/related; boundary=b", body)
    assert refused.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED
    assert refused.value.header is None  # refused while splitting, before the SOAP part


@pytest.mark.timeout(30)
def test_folding_is_linear_in_the_number_of_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A million folded lines with the size limit lifted: well under a second when each line
    is appended once, minutes when the value is copied for each (80,000 took 1.6 s)."""
    monkeypatch.setattr(mime, "MAX_HEADER_BYTES", 10 * MAX_BODY_BYTES)
    lines = 1_000_000
    body = multipart(b"b", [soap_part(), folded_part(lines)])
    [part] = read_body("multipart/related; boundary=b", body).attachments
    assert part.headers["content-description"] == "a" + " b" * lines
    assert part.body == b"body"


def test_a_part_with_more_headers_than_the_limit_is_refused() -> None:
    headers = [f"X-Header-{i}: {i}" for i in range(MAX_HEADER_FIELDS - 1)]
    at_limit = leaf(["Content-Type: text/plain", *headers], b"body")
    assert content(multipart(b"b", [soap_part(), at_limit]))[0].data == b"body"
    repeated = leaf(["Content-Type: text/plain", *headers, "X-Header-0: again"], b"body")
    assert content(multipart(b"b", [soap_part(), repeated]))[0].data == b"body"
    with pytest.raises(Mm7Error) as too_many:
        content(multipart(b"b", [soap_part(), leaf([*headers, "A: 1", "B: 2"], b"body")]))
    assert too_many.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED
    assert f"more than {MAX_HEADER_FIELDS} headers" in too_many.value.text


@pytest.mark.parametrize(
    ("header", "limit"),
    [
        ("Content-ID: <{}>", mime.MAX_LABEL_CHARS),
        ("Content-Location: {}", mime.MAX_LABEL_CHARS),
        ("Content-Type: text/plain; charset={}", mime.MAX_CHARSET_CHARS),
    ],
    ids=["content-id", "content-location", "charset"],
)
def test_what_the_mo_keeps_of_a_part_is_bounded(header: str, limit: int) -> None:
    def part(length: int) -> bytes:
        return multipart(b"b", [soap_part(), leaf([header.format("x" * length)], b"body")])

    assert content(part(limit))[0].data == b"body"
    with pytest.raises(Mm7Error) as refused:
        content(part(limit + 1))
    assert refused.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED
    assert f"over the limit of {limit}" in refused.value.text


@pytest.mark.parametrize(
    ("media_type", "read_as"),
    [
        ("Image/JPEG", "image/jpeg"),
        ("application/vnd.3gpp.mms+xml", "application/vnd.3gpp.mms+xml"),
        ("image/" + "x" * 127, "image/" + "x" * 127),
        ("image/" + "x" * 128, "text/plain"),
        ("image/jpé", "text/plain"),
        ("image/jpeg\rX-Injected: 1", "text/plain"),
        ("image jpeg", "text/plain"),
        ("jpeg", "text/plain"),
    ],
)
def test_a_media_type_that_is_none_is_read_as_text_plain(media_type: str, read_as: str) -> None:
    """RFC 2045's default for an invalid Content-Type: the MO is kept, and S3 gets a valid one."""
    part = leaf([f"Content-Type: {media_type}"], b"body")
    [parsed] = content(multipart(b"b", [soap_part(), part]))
    assert (parsed.content_type, parsed.data) == (read_as, b"body")
