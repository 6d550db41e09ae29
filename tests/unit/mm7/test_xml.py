"""The hardened XML parser: no DOCTYPE, no file read, no expansion; look-ups by local name."""

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from gateway.mm7 import Mm7Error, StatusCode, fault, parse_request
from gateway.mm7 import xml as mm7_xml
from tests.unit.mm7.corpus import NS, SOAP_ENV, load

ENVELOPE = (
    f'<env:Envelope xmlns:env="{SOAP_ENV}"><env:Header>'
    f'<TransactionID xmlns="{NS}REL-6-MM7-1-4">{{transaction}}</TransactionID></env:Header>'
    f'<env:Body><DeliveryReportReq xmlns="{NS}REL-6-MM7-1-4"><MessageID>m</MessageID>'
    "<Recipient><Number>1</Number></Recipient><MMStatus>Retrieved</MMStatus>"
    "</DeliveryReportReq></env:Body></env:Envelope>"
)
# Each refers to {url}, and uses &leak; where a loaded entity would show.
ATTACKS = {
    "external-entity": '<!DOCTYPE env:Envelope [<!ENTITY leak SYSTEM "{url}">]>',
    "external-subset": '<!DOCTYPE env:Envelope SYSTEM "{url}">',
    "parameter-entity": '<!DOCTYPE env:Envelope [<!ENTITY % ext SYSTEM "{url}"> %ext;]>',
}


def attack(kind: str, url: str, encoding: str) -> bytes:
    transaction = "&leak;" if kind == "external-entity" else "t"
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        + ATTACKS[kind].format(url=url)
        + ENVELOPE.format(transaction=transaction)
    )
    return document.encode(encoding)


def refuse(body: bytes) -> Mm7Error:
    with pytest.raises(Mm7Error) as refused:
        parse_request("text/xml", body)
    assert refused.value.status_code == StatusCode.VALIDATION_ERROR
    return refused.value


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])  # UTF-16: no byte scan sees it
@pytest.mark.parametrize("kind", sorted(ATTACKS))
def test_xxe_never_opens_the_file(tmp_path: Path, kind: str, encoding: str) -> None:
    """The entity points at a FIFO: opening it for reading unblocks a writer waiting on it,
    so any open shows, even one libxml2 makes from C."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:
        descriptor = os.open(fifo, os.O_WRONLY)  # blocks until a reader opens the FIFO
        opened.set()
        os.close(descriptor)

    threading.Thread(target=writer, daemon=True).start()
    error = refuse(attack(kind, fifo.as_uri(), encoding))
    was_opened = opened.wait(0.2)
    release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer finish
    try:
        assert opened.wait(5)
    finally:
        os.close(release)
    assert not was_opened
    assert "document type" in error.text


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
@pytest.mark.parametrize("kind", sorted(ATTACKS))
def test_xxe_never_shows_the_file(tmp_path: Path, kind: str, encoding: str) -> None:
    secret = f"SECRET-{uuid.uuid4()}"
    target = tmp_path / "secret.dtd"
    # Valid as a DTD and as an entity's text, so that a loaded file would be used.
    target.write_text(f'<!ENTITY leak "{secret}">{secret}')
    error = refuse(attack(kind, target.as_uri(), encoding))
    assert error.header is None
    for shown in (str(error), error.text, fault(error).body.decode()):
        assert secret not in shown


def test_xxe_at_etc_passwd_from_the_corpus_shows_nothing() -> None:
    for name in ("xxe-external-entity", "xxe-external-dtd", "xxe-parameter-entity-utf16"):
        fixture = load(name)
        with pytest.raises(Mm7Error) as refused:
            parse_request(fixture.content_type, fixture.body)
        assert "root:" not in fault(refused.value).body.decode()


def laughs(encoding: str) -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    # Quadratic blow-up as well: one 100 kB entity used 10,000 times.
    entities += f'<!ENTITY big "{"x" * 100_000}">'
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE env:Envelope [{entities}]>'
        + ENVELOPE.format(transaction="&lol9;" + "&big;" * 10_000)
    )
    return document.encode(encoding)


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
def test_entity_expansion_is_refused_at_once(encoding: str) -> None:
    body = laughs(encoding)
    started = time.perf_counter()
    refuse(body)
    assert time.perf_counter() - started < 1.0  # generous: it takes well under a millisecond


@pytest.mark.parametrize(
    "document",
    [
        b'<mm7:A xmlns:mm7="urn:a"><mm7:B mm7:href=" cid:x ">t</mm7:B></mm7:A>',
        b'<A xmlns="urn:a"><B href="cid:x">t</B></A>',
        b'<A><B href="cid:x"> t </B></A>',
    ],
    ids=["prefixed", "default-namespace", "no-namespace"],
)
def test_look_ups_by_local_name(document: bytes) -> None:
    root = mm7_xml.parse(document)
    found = mm7_xml.by_name(root)
    assert list(found) == ["B"]
    element = found["B"]
    assert mm7_xml.local_name(element) == "B"
    assert mm7_xml.namespace(root) == ("urn:a" if b"urn:a" in document else "")
    assert mm7_xml.attribute(element, "href") == "cid:x"
    assert mm7_xml.attribute(element, "missing") is None
    assert mm7_xml.text(element) == "t"
    assert mm7_xml.children(root, "B") == [element]
    assert mm7_xml.children(None, "B") == []
    assert mm7_xml.by_name(None) == {}


def test_comments_and_cdata_do_not_split_text() -> None:
    root = mm7_xml.parse(b"<A><B>12<!-- note -->34<![CDATA[56]]></B></A>")
    assert mm7_xml.text(root[0]) == "123456"


def test_whitespace_before_the_declaration_is_accepted() -> None:
    assert mm7_xml.local_name(mm7_xml.parse(b'\r\n  <?xml version="1.0"?><A/>')) == "A"
