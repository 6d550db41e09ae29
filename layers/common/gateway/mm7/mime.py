"""MM7's HTTP body: SOAP 1.1 with attachments (multipart/related, RFC 2387) or bare XML.

A bytes-level splitter, not the stdlib `email` package: `email` feeds the body line by line
through pure-Python code (slow on the megabyte images MMS carry), turns bytes into surrogate-
escaped text and back, and its message model invites re-serialising; a binary part must reach
S3 byte for byte. Here a boundary is found with `bytes.find` and a part's body is a slice of
the request, decoded only for base64 and quoted-printable; only header lines go through Python.

Read liberally, as MMSCs write it: parameters in any case, quoted or not; a body labelled
multipart that is bare XML; a boundary missing from the header, taken from the body's first
line; a delimiter not preceded by a line break, LF instead of CRLF, and part headers without
the blank line after them (the vendor's published sample has both).

The SOAP part is parsed before the content parts, so that an error in the content can echo
the request's TransactionID; the content is split and decoded when it is asked for.
"""

import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from gateway.mm7.errors import Mm7Error, StatusCode
from gateway.mm7.model import ContentPart

# API Gateway takes payloads up to 10 MB but Lambda's synchronous request payload is 6 MB,
# and API Gateway hands a binary body to Lambda base64-encoded (4/3 larger) inside the event:
# about 4.5 MB of raw body is the most that can reach the function.
MAX_BODY_BYTES = 4_500_000
# An MM is a SMIL part and a few media parts; every MIME part counts, containers included.
MAX_PARTS = 50
# multipart/related > multipart/mixed (the seed) > multipart/related (SMIL) > one spare level.
MAX_DEPTH = 4
# A part's headers are Content-Type, -ID, -Location, -Transfer-Encoding, -Disposition and a
# few more, a line or two each: these leave room for long file names, and keep a part that
# is all header lines from costing more than a real one.
MAX_HEADER_BYTES = 8192
MAX_HEADER_FIELDS = 64
# What the MO record keeps of each leaf part, bounded like the MM7 fields (see
# gateway.mm7.parsing); RFC 2978 charset names are 40 characters at most.
MAX_LABEL_CHARS = 256  # Content-ID, Content-Location
MAX_CHARSET_CHARS = 64

_XML_TYPES = frozenset({"text/xml", "application/xml"})  # and any type/subtype+xml
# RFC 6838's type/subtype (lower case here): ASCII, each name at most 127 characters.
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_PARAM = re.compile(r';\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")
# A field name is a token (RFC 9110), so that a body line such as `<ns1:Envelope` is no header.
_HEADER_FIELD = re.compile(rb"([A-Za-z0-9!#$%&'*+.^_`|~-]+)[ \t]*:")
_XML_START = re.compile(rb"\s*<")
# No boundary parameter: the body's first line is the first delimiter.
_FIRST_DELIMITER = re.compile(rb"[ \t\r\n]*--([^\r\n]*[^ \t\r\n])")


class _Malformed(ValueError):
    """A MIME structure that cannot be read; the caller decides which MM7 status it is."""


@dataclass(frozen=True, slots=True)
class ContentType:
    media_type: str  # lower case, "" when there was no header
    params: dict[str, str]  # names in lower case


def parse_content_type(value: str | None) -> ContentType:
    """`type/subtype; name=value; name="quoted value"`; the first of a repeated parameter wins."""
    if not value:
        return ContentType("", {})
    media_type, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        raw = match[2].strip()
        if raw.startswith('"'):
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:].removesuffix('"'))
        params.setdefault(match[1].lower(), raw)
    return ContentType(media_type.strip().lower(), params)


def _normalise_id(value: str | None) -> str | None:
    """A Content-ID or a `start` parameter, with or without its angle brackets."""
    if value is None:
        return None
    return value.strip().removeprefix("<").removesuffix(">").strip() or None


@dataclass(frozen=True, slots=True)
class _Part:
    headers: dict[str, str]  # names in lower case; the first of a repeated header wins
    body: bytes  # as sent, before Content-Transfer-Encoding is undone

    @property
    def content_type(self) -> ContentType:
        return parse_content_type(self.headers.get("content-type"))

    @property
    def content_id(self) -> str | None:
        return _normalise_id(self.headers.get("content-id"))

    def decoded(self) -> bytes:
        encoding = self.headers.get("content-transfer-encoding", "binary").strip().lower()
        try:
            if encoding == "base64":
                return binascii.a2b_base64(self.body)  # skips line breaks and stray characters
            if encoding == "quoted-printable":
                return binascii.a2b_qp(self.body)
        except binascii.Error as exc:
            raise _Malformed(f"bad {encoding} content: {exc}") from exc
        if encoding in ("binary", "8bit", "7bit"):
            return self.body
        raise _Malformed(f"unknown Content-Transfer-Encoding {encoding[:40]!r}")


def _header_text(value: bytes) -> str:
    """UTF-8 (RFC 6532), else Latin-1; stripped of Unicode white space too, since the vendor's
    sample ends its Content-IDs with a no-break space."""
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


def _refuse(text: str) -> Mm7Error:
    return Mm7Error(StatusCode.MULTIMEDIA_CONTENT_REFUSED, text)


def _read_part(segment: bytes) -> _Part:
    """Headers up to the first blank line, or up to the first line that is not a header.
    A folded header's lines are collected and joined once: appending each to the value would
    copy it again for every line."""
    lines: dict[str, list[str]] = {}
    last: list[str] | None = None  # the lines of the header a folded line continues
    pos = 0
    while pos < len(segment):
        newline = segment.find(b"\n", pos)
        end = len(segment) if newline < 0 else newline
        line = segment[pos:end].removesuffix(b"\r")
        if not line:
            pos = end + 1
            break
        folded = line[:1] in (b" ", b"\t")
        field = None if folded else _HEADER_FIELD.match(line)
        if field is None and not folded:
            break
        if end > MAX_HEADER_BYTES:
            raise _refuse(f"MIME part headers over {MAX_HEADER_BYTES} bytes")
        if field is None:
            if last is not None:
                last.append(_header_text(line))
        elif (name := field[1].decode("ascii").lower()) in lines:
            last = None  # the first of a repeated header wins
        elif len(lines) == MAX_HEADER_FIELDS:
            raise _refuse(f"a MIME part with more than {MAX_HEADER_FIELDS} headers")
        else:
            last = lines[name] = [_header_text(line[field.end() :])]
        pos = end + 1
    return _Part({name: " ".join(value) for name, value in lines.items()}, segment[pos:])


class _Budget:
    """Counts MIME parts across the whole tree of one request."""

    def __init__(self, used: int = 0) -> None:
        self.used = used

    def take(self) -> None:
        self.used += 1
        if self.used > MAX_PARTS:
            raise _refuse(f"more than {MAX_PARTS} MIME parts")


def _find_delimiter(data: bytes, delimiter: bytes, start: int) -> int:
    """The next `--boundary` followed by `--`, white space or the end (not a longer boundary)."""
    while (found := data.find(delimiter, start)) >= 0:
        after = data[found + len(delimiter) : found + len(delimiter) + 2]
        if after == b"--" or after[:1] in (b"", b" ", b"\t", b"\r", b"\n"):
            return found
        start = found + 1
    return -1


def _before_line_break(data: bytes, start: int, end: int, *, crlf: bool) -> int:
    """The line break before a delimiter belongs to the delimiter, not to the part. A body
    framed with bare LF keeps a CR that ends its part (binary data may end with one)."""
    if crlf and data.endswith(b"\r\n", start, end):
        return end - 2
    return end - 1 if data.endswith(b"\n", start, end) else end


def _split(data: bytes, boundary: bytes, budget: _Budget) -> list[_Part]:
    delimiter = b"--" + boundary
    found = _find_delimiter(data, delimiter, 0)
    if found < 0:
        raise _Malformed(f"boundary {boundary[:70]!r} not found")
    parts: list[_Part] = []
    while True:
        after = found + len(delimiter)
        if data.startswith(b"--", after):
            return parts
        # The rest of the delimiter line is transport padding; its line break tells the framing.
        newline = data.find(b"\n", after)
        start = len(data) if newline < 0 else newline + 1
        crlf = data.endswith(b"\r\n", after, start)
        found = _find_delimiter(data, delimiter, start)
        if found < 0:
            raise _Malformed("multipart body ends without its closing boundary")
        budget.take()
        parts.append(_read_part(data[start : _before_line_break(data, start, found, crlf=crlf)]))


def _boundary(content_type: ContentType, data: bytes) -> bytes:
    if boundary := content_type.params.get("boundary"):
        return boundary.encode("utf-8", "replace")  # RFC 2046 keeps it ASCII
    if first_delimiter := _FIRST_DELIMITER.match(data):
        return first_delimiter[1]
    raise _Malformed(f"{content_type.media_type} without a boundary")


@dataclass(frozen=True, slots=True)
class _Multipart:
    content_id: str | None
    content_location: str | None
    parts: tuple["ContentPart | _Multipart", ...]


def _leaves(entity: ContentPart | _Multipart) -> Iterator[ContentPart]:
    if isinstance(entity, _Multipart):
        for part in entity.parts:
            yield from _leaves(part)
    else:
        yield entity


def _leaf(
    content_type: ContentType, data: bytes, content_id: str | None, location: str | None
) -> ContentPart:
    """A leaf part; refused when what the MO keeps of it is over its limit. A media type that
    is no RFC 6838 type/subtype (nor a Content-Type S3 would take) is read as text/plain, the
    default RFC 2045 recommends for an invalid Content-Type."""
    charset = content_type.params.get("charset")
    for name, value, limit in (
        ("Content-ID", content_id, MAX_LABEL_CHARS),
        ("Content-Location", location, MAX_LABEL_CHARS),
        ("charset", charset, MAX_CHARSET_CHARS),
    ):
        if value is not None and len(value) > limit:
            raise _refuse(f"a part's {name} has {len(value)} characters, over the limit of {limit}")
    valid = _MEDIA_TYPE.fullmatch(content_type.media_type)
    return ContentPart(
        content_type=content_type.media_type if valid else "text/plain",
        data=data,
        content_id=content_id,
        content_location=location,
        charset=charset,
    )


def _entity(part: _Part, depth: int, budget: _Budget) -> ContentPart | _Multipart:
    """`part` as a leaf, or as a container of its parts; `depth` counts the multiparts around it."""
    content_type = part.content_type
    data = part.decoded()
    content_id = part.content_id
    location = part.headers.get("content-location") or None
    if not content_type.media_type.startswith("multipart/"):
        return _leaf(content_type, data, content_id, location)
    if depth >= MAX_DEPTH:
        raise _refuse(f"multiparts nested more than {MAX_DEPTH} deep")
    children = _split(data, _boundary(content_type, data), budget)
    return _Multipart(
        content_id=content_id,
        content_location=location,
        parts=tuple(_entity(child, depth + 1, budget) for child in children),
    )


def _find(
    entities: tuple[ContentPart | _Multipart, ...], href: str
) -> ContentPart | _Multipart | None:
    """The part an href names: `cid:` a Content-ID (RFC 2392), anything else a Content-Location."""
    scheme, colon, rest = href.partition(":")
    by_id = bool(colon) and scheme.strip().lower() == "cid"
    wanted = _normalise_id(unquote(rest)) if by_id else href
    if not wanted:
        return None
    for entity in entities:
        if (entity.content_id if by_id else entity.content_location) == wanted:
            return entity
        if isinstance(entity, _Multipart) and (found := _find(entity.parts, href)) is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Body:
    """The SOAP envelope's bytes and the other top-level parts, still encoded."""

    soap: bytes
    attachments: tuple[_Part, ...] = ()

    def content(self, href: str | None) -> tuple[ContentPart, ...]:
        """The leaf parts the Content element's href names; every part but the SOAP part when
        there is no href, or when it names no part (the MMSC did send the content, and refusing
        it would only make the MMSC send the same body again)."""
        budget = _Budget(used=len(self.attachments) + 1)
        try:
            entities = tuple(_entity(part, 1, budget) for part in self.attachments)
        except _Malformed as exc:
            raise _refuse(str(exc)) from exc
        target = _find(entities, href) if href else None
        chosen = (target,) if target is not None else entities
        return tuple(leaf for entity in chosen for leaf in _leaves(entity))


def _soap_index(parts: list[_Part], start: str | None) -> int:
    """The part the `start` parameter names, else the first XML part."""
    if (wanted := _normalise_id(start)) is not None:
        for index, part in enumerate(parts):
            if part.content_id == wanted:
                return index
    for index, part in enumerate(parts):
        media_type = part.content_type.media_type
        if media_type in _XML_TYPES or media_type.endswith("+xml"):
            return index
    raise _Malformed("no SOAP part: no part matches the start parameter and none is XML")


def read_body(content_type: str | None, body: bytes) -> Body:
    """Splits the request body; Mm7Error 2004 over the limits, 4004 when no SOAP part is found."""
    if len(body) > MAX_BODY_BYTES:
        raise _refuse(f"body of {len(body)} bytes is over the {MAX_BODY_BYTES}-byte limit")
    parsed = parse_content_type(content_type)
    if not parsed.media_type.startswith("multipart/") or _XML_START.match(body):
        return Body(soap=body)
    try:
        parts = _split(body, _boundary(parsed, body), _Budget())
        index = _soap_index(parts, parsed.params.get("start"))
        soap = parts[index].decoded()
    except _Malformed as exc:
        raise Mm7Error(StatusCode.VALIDATION_ERROR, str(exc)) from exc
    return Body(soap=soap, attachments=tuple(parts[:index] + parts[index + 1 :]))
