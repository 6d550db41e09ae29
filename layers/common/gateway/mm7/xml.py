"""The one XML parser for what MMSCs send, hardened, and look-ups by local name.

No document type declaration is accepted, whatever it holds: SOAP forbids them, and they carry
every XML attack (external entities reading local files, entity expansion). Three layers:
1. a DOCTYPE in the prolog is refused before libxml2 sees the document;
2. every external resource resolves to nothing: libxml2 (2.14, lxml 6) still opens an external
   subset or parameter entity with `load_dtd=False`, so the parser options alone are not enough;
3. a DOCTYPE found after parsing is refused, for encodings the byte scan cannot read (UTF-16).
Entities are never expanded and libxml2's own size and amplification limits stay on
(`huge_tree=False`).

MMSCs put MM7 elements in any of the 23.140 namespaces, with a prefix or a default namespace,
and some in none: elements are matched by local name only.
"""

import re

from lxml import etree

from gateway.mm7.errors import Mm7Error, StatusCode


class _NoExternalResources(etree.Resolver):
    """Every DTD, entity or other external resource resolves to an empty document."""

    # lxml calls resolve(url, public_id, context); lxml-stubs 0.5 leaves the context out.
    def resolve(  # type: ignore[override]
        self, system_url: str, public_id: str, context: object
    ) -> object:
        return self.resolve_string("", context, base_url=None)


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    attribute_defaults=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
    recover=False,
)
_PARSER.resolvers.add(_NoExternalResources())

# The root element's start tag: everything before it is the prolog.
_ROOT_START = re.compile(rb"<[^?!]")


def _refuse_doctype() -> Mm7Error:
    return Mm7Error(StatusCode.VALIDATION_ERROR, "document type declarations are not accepted")


def parse(data: bytes) -> etree._Element:
    """The document's root element; Mm7Error 4004 when it is not well-formed or has a DOCTYPE."""
    root_start = _ROOT_START.search(data)
    if b"<!DOCTYPE" in (data if root_start is None else data[: root_start.start()]):
        raise _refuse_doctype()
    try:
        # Whitespace before the XML declaration (a blank line after MIME headers) is an error
        # to libxml2 but harmless.
        root = etree.fromstring(data.lstrip(), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Mm7Error(StatusCode.VALIDATION_ERROR, f"not well-formed XML: {exc.msg}") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise _refuse_doctype()
    return root


def local_name(element: etree._Element) -> str:
    return element.tag.rpartition("}")[2]


def namespace(element: etree._Element) -> str:
    """The element's namespace URI, "" when it has none."""
    return element.tag[1:].partition("}")[0] if element.tag.startswith("{") else ""


def by_name(parent: etree._Element | None) -> dict[str, etree._Element]:
    """The children by local name, the first of each name: one pass for many look-ups."""
    found: dict[str, etree._Element] = {}
    if parent is not None:
        for child in parent:
            found.setdefault(local_name(child), child)
    return found


def children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    """Every child of that local name."""
    return [] if parent is None else [child for child in parent if local_name(child) == name]


def first_child(parent: etree._Element) -> etree._Element | None:
    return next(iter(parent), None)


def text(element: etree._Element | None) -> str | None:
    """The element's text, stripped; None when absent or empty. The parser drops comments and
    CDATA markers, so `.text` is all of a leaf element's text."""
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def attribute(element: etree._Element, name: str) -> str | None:
    """An attribute by local name, with or without a namespace prefix (`href`, `mm7:href`)."""
    for key in element.attrib:
        if isinstance(key, str) and key.rpartition("}")[2] == name:
            value = element.get(key)
            return None if value is None else value.strip()
    return None
