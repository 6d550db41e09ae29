"""Addresses as MMSCs write them: an older element name or one the gateway does not know is
read, not refused (a fault only makes the MMSC send the same request again), and an MO
without a sender is one whose sender is hidden."""

import pytest

from gateway.mm7 import (
    Address,
    AddressKind,
    DeliverRequest,
    DeliveryReportRequest,
    HiddenSender,
    parse_request,
)
from tests.unit.mm7.requests import request


def sender(**elements: str | None) -> Address | HiddenSender:
    deliver = parse_request("text/xml", request("DeliverReq", **elements))
    assert isinstance(deliver, DeliverRequest)
    return deliver.sender


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ("<RFC822Address>alice@example.com</RFC822Address>", ("alice@example.com", "RFC2822")),
        ("<Alias>alice</Alias>", ("alice", "LEGACY")),
        ('<Obfuscated addressCoding="obfuscated">x7Gq2</Obfuscated>', ("x7Gq2", "LEGACY")),
        ("<Alias>alice</Alias><Number>447700900765</Number>", ("447700900765", "NUMBER")),
        ("<Number/><Alias>alice</Alias>", ("alice", "LEGACY")),
    ],
    ids=["rfc822", "unknown", "unknown-with-attribute", "known-first", "empty-known"],
)
def test_a_sender_is_read_whatever_element_holds_it(inner: str, expected: tuple[str, str]) -> None:
    value, kind = expected
    assert sender(Sender=inner) == Address(value, AddressKind[kind])


def test_a_report_recipient_in_an_unknown_element_is_read() -> None:
    body = request("DeliveryReportReq", Recipient="<MSISDN>447700900123</MSISDN>")
    report = parse_request("text/xml", body)
    assert isinstance(report, DeliveryReportRequest)
    assert report.recipient == Address("447700900123", AddressKind.LEGACY)


@pytest.mark.parametrize(
    "elements",
    [{"Sender": None}, {"Sender": ""}, {"Sender": "<Number/>"}],
    ids=["absent", "empty", "no-address"],
)
def test_an_mo_without_a_sender_address_has_its_sender_hidden(
    elements: dict[str, str | None],
) -> None:
    hidden = sender(**elements)
    assert hidden == HiddenSender()
    assert hidden.value is None  # no empty string that could pass for a number
