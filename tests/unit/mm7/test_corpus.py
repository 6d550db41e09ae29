"""Every file of the MM7 corpus, and what parse_request makes of it."""

from dataclasses import dataclass, replace
from typing import Any

import pytest

from gateway.core.status import Status
from gateway.mm7 import (
    MAX_BODY_BYTES,
    Address,
    AddressKind,
    ContentPart,
    DeliverRequest,
    DeliveryReportRequest,
    HiddenSender,
    Mm7Error,
    ReadReplyRequest,
    Recipients,
    Request,
    RequestHeader,
    StatusCode,
    delivery_status,
    parse_request,
    read_status,
)
from gateway.mm7.model import NAMESPACES
from tests.unit.mm7.corpus import GIF, JPEG, NS, PNG, SMALL_JPEG, SMIL, load, names


@dataclass(frozen=True)
class Refused:
    code: StatusCode
    reason: str  # a fragment of the error's text
    header: RequestHeader | None = None


def header(release: str, transaction_id: str, version: str = "6.8.0") -> RequestHeader:
    return RequestHeader(NS + release if release else "", transaction_id, version)


def number(value: str, *, display_only: bool = False) -> Address:
    return Address(value, AddressKind.NUMBER, display_only)


SHORT_CODE = Address("12345", AddressKind.SHORT_CODE)
REL6 = "REL-6-MM7-1-4"


def report(head: RequestHeader, status: str, **changes: Any) -> DeliveryReportRequest:
    """The corpus' usual DeliveryReportReq, with `changes`."""
    usual = DeliveryReportRequest(
        header=head,
        message_id="msg-1",
        recipient=number("447700900123"),
        mm_status=status,
        sender=SHORT_CODE,
        date="2024-05-01T10:00:00Z",
    )
    return replace(usual, **changes)


def read_reply(head: RequestHeader, status: str, **changes: Any) -> ReadReplyRequest:
    usual = ReadReplyRequest(
        header=head,
        message_id="msg-7",
        recipient=number("447700900123"),
        mm_status=status,
        sender=SHORT_CODE,
        timestamp="2024-05-01T11:00:00Z",
    )
    return replace(usual, **changes)


def deliver(head: RequestHeader, *parts: ContentPart, **changes: Any) -> DeliverRequest:
    usual = DeliverRequest(
        header=head,
        sender=number("447700900765"),
        recipients=Recipients(to=(SHORT_CODE,)),
        parts=parts,
        linked_id="L-1",
        timestamp="2024-05-01T12:00:00Z",
    )
    return replace(usual, **changes)


SEED_DR = DeliveryReportRequest(
    header=header(REL6, "10000001"),
    message_id="xxxxxxxxxxxx",
    recipient=number("10000000001"),
    mm_status="Retrieved",
    sender=Address("00000", AddressKind.SHORT_CODE),
    date="2015-03-16T14:03:51.749Z",
    status_text="Success",
)


def seed_deliver(image: bytes) -> DeliverRequest:
    return DeliverRequest(
        header=header(REL6, "369171411769819136"),
        sender=number("12125550123"),
        recipients=Recipients(to=(number("222111"),)),
        parts=(
            ContentPart("image/jpeg", image, content_id="image_0.jpg"),
            ContentPart("text/plain", b"Test MO message!", content_id="text_0.txt"),
        ),
        priority="Normal",
        linked_id="369171411769819136",
        timestamp="2014-04-14T16:15:23.414Z",
    )


QP_TEXT = (
    b"Caf\xe9 cr\xe8me br\xfbl\xe9e, a line long enough to need a soft line break in "
    b"quoted-printable.\r\nSecond line."
)
NOT_WELL_FORMED = "not well-formed"
DOCTYPE = "document type declarations"

CASES: dict[str, Request | Refused] = {
    # Delivery reports: every namespace, every MMStatus of DESIGN.md, every envelope style.
    "dr-seed-rel6-1-4": SEED_DR,
    "dr-seed-multipart-label-bare-xml": SEED_DR,
    "dr-rel5-1-0-prefixed-forwarded": report(
        header("REL-5-MM7-1-0", "tx-5-1-0", "5.3.0"), "Forwarded"
    ),
    "dr-rel5-1-1-deferred-charset": report(
        header("REL-5-MM7-1-1", "tx-5-1-1", "5.5.0"), "Deferred"
    ),
    "dr-rel5-1-2-expired-timestamp": report(
        header("REL-5-MM7-1-2", "tx-5-1-2", "5.6.0"), "Expired", date="2024-05-02T10:00:00Z"
    ),
    "dr-rel5-1-3-rejected-reason": report(
        header("REL-5-MM7-1-3", "tx-5-1-3", "5.6.0"),
        "Rejected",
        recipient=Address("user@example.com", AddressKind.RFC2822),
        status_text="Handset does not support MMS",
        status_detail="MMS-UA-UNSUPPORTED",
    ),
    "dr-rel6-1-0-indeterminate-crlf": report(
        header("REL-6-MM7-1-0", "tx-6-1-0", "6.1.0"), "Indeterminate"
    ),
    "dr-rel6-1-1-unrecognised-ns-on-envelope": report(
        header("REL-6-MM7-1-1", "tx-6-1-1", "6.3.0"), "Unrecognised"
    ),
    "dr-rel6-1-2-unrecognized-lower-case": report(
        header("REL-6-MM7-1-2", "tx-6-1-2", "6.5.0"), "unrecognized"
    ),
    "dr-rel6-1-3-condition-not-met-extension": report(
        header("REL-6-MM7-1-3", "tx-6-1-3", "6.7.0"),
        "DeliveryConditionNotMet",
        mm_status_extension="RejectionByMMSRecipient",
    ),
    "dr-unknown-status": report(header(REL6, "tx-unknown"), "Unreachable"),
    "dr-multipart-start-delivered": report(
        header(REL6, "tx-dr-mp"), "Delivered", status_text="Delivered to handset"
    ),
    "dr-no-namespace": report(header("", "tx-none", "5.3.0"), "Retrieved"),
    "dr-missing-message-id": Refused(
        StatusCode.VALIDATION_ERROR, "has no MessageID", header(REL6, "tx-no-id")
    ),
    # Read replies.
    "rr-read-prefixed": read_reply(
        header(REL6, "tx-rr-1"), "Read", status_text="Read by recipient"
    ),
    "rr-deleted-rel5": read_reply(header("REL-5-MM7-1-3", "tx-rr-2", "5.6.0"), "Deleted"),
    "rr-indeterminate": read_reply(header(REL6, "tx-rr-3"), "Indeterminate"),
    "rr-missing-mmstatus": Refused(
        StatusCode.VALIDATION_ERROR, "has no MMStatus", header(REL6, "tx-rr-4")
    ),
    # Mobile-originated MMs: MIME layouts, transfer encodings, hrefs, charsets, addresses.
    "deliver-seed-as-published": seed_deliver(b"<Binary contents>"),
    "deliver-seed-corrected": seed_deliver(JPEG),
    "deliver-first-xml-part-no-start": deliver(
        header("REL-5-MM7-1-0", "tx-d-1", "5.3.0"),
        ContentPart("application/smil", SMIL, content_id="smil", charset="utf-8"),
        ContentPart("image/gif", GIF, content_id="image-1"),
        sender=Address("alice@example.com", AddressKind.RFC2822),
    ),
    "deliver-start-names-second-part": deliver(
        header("REL-5-MM7-1-1", "tx-d-2", "5.5.0"),
        ContentPart(
            "text/xml",
            b"<note>not the envelope</note>",
            content_id="attachment.xml",
            charset="utf-8",
        ),
        ContentPart("image/jpeg", JPEG, content_id="image-2"),
    ),
    "deliver-params-any-case-href-space": deliver(
        header("REL-5-MM7-1-2", "tx-d-3", "5.6.0"),
        ContentPart("image/gif", GIF, content_id="image-1"),
    ),
    "deliver-boundary-sniffed": deliver(
        header("REL-5-MM7-1-3", "tx-d-4", "5.6.0"),
        ContentPart("image/gif", GIF, content_id="image-1"),
    ),
    "deliver-lf-only-percent-encoded-cid": deliver(
        header("REL-6-MM7-1-0", "tx-d-5", "6.1.0"),
        ContentPart("image/jpeg", JPEG, content_id="photo@example.com"),
    ),
    "deliver-mm7-href-attribute": deliver(
        header("REL-6-MM7-1-1", "tx-d-6", "6.3.0"),
        ContentPart("image/png", PNG, content_id="part-1"),
    ),
    "deliver-base64-one-line": deliver(
        header("REL-6-MM7-1-2", "tx-d-7", "6.5.0"),
        ContentPart("image/png", PNG, content_id="png"),
    ),
    "deliver-quoted-printable-latin1": deliver(
        header("REL-6-MM7-1-3", "tx-d-8", "6.7.0"),
        ContentPart("text/plain", QP_TEXT, content_id="text", charset="ISO-8859-1"),
        subject="Café",
    ),
    "deliver-charsets": deliver(
        header(REL6, "tx-d-9"),
        ContentPart("text/plain", "Grüße ☃".encode(), content_id="t1", charset="utf-8"),
        ContentPart("text/plain", "naïve".encode(), content_id="t2"),
        ContentPart("text/plain", "naïve".encode("latin-1"), content_id="t3"),
        ContentPart("text/plain", b"plain ASCII", content_id="t4"),
        ContentPart("text/plain", "été".encode(), content_id="t5", charset="x-no-such-charset"),
        subject="Grüße",
        priority="High",
    ),
    "deliver-nested-related-smil": deliver(
        header(REL6, "tx-d-10"),
        ContentPart("application/smil", SMIL, content_id="smil"),
        ContentPart("image/gif", GIF, content_id="image-1"),
        ContentPart(
            "text/plain", b"Hello from a nested related", content_id="text-1", charset="utf-8"
        ),
    ),
    "deliver-content-location-only": deliver(
        header(REL6, "tx-d-11"),
        ContentPart("image/jpeg", JPEG, content_location="photo.jpg"),
        ContentPart("text/plain", b"located", content_location="note.txt", charset="utf-8"),
    ),
    "deliver-legacy-sender-text": deliver(
        header("REL-5-MM7-1-0", "tx-d-12", "5.3.0"),
        sender=Address("+447700900765", AddressKind.LEGACY),
        recipients=Recipients(to=(Address("12345", AddressKind.LEGACY),)),
    ),
    "deliver-legacy-sender-address": deliver(
        header(REL6, "tx-d-13"),
        sender=Address("447700900765", AddressKind.LEGACY),
        recipients=Recipients(
            to=(SHORT_CODE, number("447700900001", display_only=True)),
            cc=(Address("bob@example.com", AddressKind.RFC2822),),
            bcc=(number("447700900002"),),
        ),
    ),
    "deliver-dangling-href": deliver(
        header(REL6, "tx-d-14"), ContentPart("image/gif", GIF, content_id="image-1")
    ),
    "deliver-bad-base64": Refused(
        StatusCode.MULTIMEDIA_CONTENT_REFUSED, "bad base64", header(REL6, "tx-d-15")
    ),
    "deliver-unknown-transfer-encoding": Refused(
        StatusCode.MULTIMEDIA_CONTENT_REFUSED, "x-uuencode", header(REL6, "tx-d-16")
    ),
    "deliver-too-many-parts-nested": Refused(
        StatusCode.MULTIMEDIA_CONTENT_REFUSED, "more than 50 MIME parts", header(REL6, "tx-d-17")
    ),
    # Counted before the SOAP part is read: nothing to echo.
    "deliver-too-many-parts-top-level": Refused(
        StatusCode.MULTIMEDIA_CONTENT_REFUSED, "more than 50 MIME parts"
    ),
    "deliver-too-deep": Refused(
        StatusCode.MULTIMEDIA_CONTENT_REFUSED, "nested more than 4 deep", header(REL6, "tx-d-19")
    ),
    "deliver-truncated": Refused(StatusCode.VALIDATION_ERROR, "without its closing boundary"),
    "deliver-no-soap-part": Refused(StatusCode.VALIDATION_ERROR, "no SOAP part"),
    "deliver-missing-sender": deliver(header(REL6, "tx-d-21"), sender=HiddenSender()),
    "deliver-rel6-hidden-sender-jpeg": DeliverRequest(
        header=header(REL6, "5f0c2e9a-0917-mo-004821"),
        sender=HiddenSender(),
        recipients=Recipients(to=(Address("36123", AddressKind.SHORT_CODE),)),
        parts=(
            ContentPart(
                "image/jpeg",
                SMALL_JPEG,
                content_id="image0001@mmsc01.operator.example",
                content_location="IMG_0048.jpg",
            ),
        ),
        subject="Photo",
        priority="Normal",
        linked_id="0601091703221000048",
        timestamp="2024-06-01T09:17:03+02:00",
    ),
    "deliver-legacy-sender-rfc822address": deliver(
        header("REL-5-MM7-1-2", "tx-d-22", "5.6.0"),
        sender=Address("alice@example.com", AddressKind.RFC2822),
    ),
    # Refused requests.
    "unsupported-cancel-req": Refused(
        StatusCode.UNSUPPORTED_OPERATION, "CancelReq", header(REL6, "tx-cancel")
    ),
    "malformed-unclosed-tag": Refused(StatusCode.VALIDATION_ERROR, NOT_WELL_FORMED),
    "malformed-vendor-curly-quotes": Refused(StatusCode.VALIDATION_ERROR, NOT_WELL_FORMED),
    "not-soap-envelope": Refused(StatusCode.VALIDATION_ERROR, "not a SOAP envelope"),
    "empty-soap-body": Refused(StatusCode.VALIDATION_ERROR, "no request in the SOAP Body"),
    "empty-body": Refused(StatusCode.VALIDATION_ERROR, NOT_WELL_FORMED),
    "xxe-external-entity": Refused(StatusCode.VALIDATION_ERROR, DOCTYPE),
    "xxe-external-dtd": Refused(StatusCode.VALIDATION_ERROR, DOCTYPE),
    "xxe-parameter-entity-utf16": Refused(StatusCode.VALIDATION_ERROR, DOCTYPE),
    "billion-laughs": Refused(StatusCode.VALIDATION_ERROR, DOCTYPE),
    "billion-laughs-in-soap-part": Refused(StatusCode.VALIDATION_ERROR, DOCTYPE),
}


def test_every_fixture_has_an_expected_result() -> None:
    assert sorted(CASES) == names()


@pytest.mark.parametrize(("name", "expected"), CASES.items(), ids=list(CASES))
def test_parse_result(name: str, expected: Request | Refused) -> None:
    fixture = load(name)
    if isinstance(expected, Refused):
        with pytest.raises(Mm7Error) as refused:
            parse_request(fixture.content_type, fixture.body)
        assert refused.value.status_code == expected.code
        assert expected.reason in refused.value.text
        assert refused.value.header == expected.header
    else:
        assert parse_request(fixture.content_type, fixture.body) == expected


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("dr-rel5-1-0-prefixed-forwarded", Status.SENT),
        ("dr-rel5-1-1-deferred-charset", Status.SENT),
        ("dr-rel6-1-0-indeterminate-crlf", Status.UNKNOWN),
        ("dr-rel6-1-1-unrecognised-ns-on-envelope", Status.UNKNOWN),
        ("dr-rel6-1-2-unrecognized-lower-case", Status.UNKNOWN),
        ("dr-unknown-status", Status.UNKNOWN),
        ("dr-rel5-1-3-rejected-reason", Status.UNDELIVERED),
        ("dr-rel5-1-2-expired-timestamp", Status.UNDELIVERED),
        ("dr-rel6-1-3-condition-not-met-extension", Status.UNDELIVERED),
        ("dr-seed-rel6-1-4", Status.DELIVERED),
        ("dr-multipart-start-delivered", Status.DELIVERED),
    ],
)
def test_delivery_reports_normalise(name: str, status: Status) -> None:
    fixture = load(name)
    request = parse_request(fixture.content_type, fixture.body)
    assert isinstance(request, DeliveryReportRequest)
    assert delivery_status(request.mm_status) == status


@pytest.mark.parametrize(
    ("name", "status"),
    [("rr-read-prefixed", Status.DELIVERED), ("rr-deleted-rel5", Status.DELIVERED)],
)
def test_read_replies_prove_delivery(name: str, status: Status) -> None:
    fixture = load(name)
    request = parse_request(fixture.content_type, fixture.body)
    assert isinstance(request, ReadReplyRequest)
    assert read_status(request.mm_status) == status


def test_every_namespace_of_the_corpus_is_a_known_one() -> None:
    """The corpus covers each REL-5/REL-6 namespace, so the list and the corpus agree."""
    seen = {
        request.header.namespace
        for request in CASES.values()
        if not isinstance(request, Refused) and request.header.namespace
    }
    assert seen == set(NAMESPACES)


def test_text_parts_decode_by_declared_charset_then_utf8_then_latin1() -> None:
    fixture = load("deliver-charsets")
    request = parse_request(fixture.content_type, fixture.body)
    assert isinstance(request, DeliverRequest)
    assert [part.text() for part in request.parts] == [
        "Grüße ☃",
        "naïve",  # no charset, UTF-8 bytes
        "naïve",  # no charset, Latin-1 bytes
        "plain ASCII",
        "été",  # unknown charset: UTF-8
    ]
    quoted = load("deliver-quoted-printable-latin1")
    qp = parse_request(quoted.content_type, quoted.body)
    assert isinstance(qp, DeliverRequest)
    assert qp.parts[0].text().startswith("Café crème brûlée")


def test_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    seed = load("deliver-seed-corrected")
    epilogue = b"\r\n" + b"x" * (MAX_BODY_BYTES - len(seed.body) - 2)
    at_limit = seed.body + epilogue
    assert len(at_limit) == MAX_BODY_BYTES
    assert isinstance(parse_request(seed.content_type, at_limit), DeliverRequest)

    with pytest.raises(Mm7Error) as too_big:
        parse_request(seed.content_type, at_limit + b"x")
    assert too_big.value.status_code == StatusCode.MULTIMEDIA_CONTENT_REFUSED
    assert str(MAX_BODY_BYTES) in too_big.value.text
    assert too_big.value.header is None
