"""MMStatus -> normalised status (DESIGN.md), and what a read reply does to a message."""

import pytest

from gateway.core.lifecycle import Progress, advance
from gateway.core.status import Status
from gateway.mm7 import (
    Address,
    AddressKind,
    DeliveryReportRequest,
    ReadReplyRequest,
    RequestHeader,
    delivery_report_update,
    delivery_status,
    read_reply_update,
    read_status,
)

AT = "2024-05-01T10:00:00.000Z"
HEADER = RequestHeader("urn:x", "t", "6.8.0")
RECIPIENT = Address("447700900123", AddressKind.NUMBER)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Forwarded", Status.SENT),
        ("Deferred", Status.SENT),
        ("Indeterminate", Status.UNKNOWN),
        ("Unrecognised", Status.UNKNOWN),
        ("Unrecognized", Status.UNKNOWN),
        ("Rejected", Status.UNDELIVERED),
        ("Expired", Status.UNDELIVERED),
        ("DeliveryConditionNotMet", Status.UNDELIVERED),
        ("Retrieved", Status.DELIVERED),
        ("Delivered", Status.DELIVERED),  # the seed's word for it
        ("RETRIEVED", Status.DELIVERED),
        (" forwarded\n", Status.SENT),
        ("Unreachable", Status.UNKNOWN),
        ("", Status.UNKNOWN),
    ],
)
def test_delivery_status(raw: str, status: Status) -> None:
    assert delivery_status(raw) == status


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Read", Status.DELIVERED),
        ("deleted", Status.DELIVERED),
        ("Indeterminate", None),
        ("Forwarded", None),
        ("", None),
    ],
)
def test_read_status(raw: str, status: Status | None) -> None:
    assert read_status(raw) == status


def dr(raw: str, text: str | None) -> DeliveryReportRequest:
    return DeliveryReportRequest(HEADER, "m", RECIPIENT, raw, status_text=text)


def test_a_rejected_report_keeps_its_raw_status_and_reason() -> None:
    update = delivery_report_update(dr("Rejected", "Handset full"), AT)
    assert (update.status, update.provider_status, update.reason, update.source) == (
        Status.UNDELIVERED,
        "Rejected",
        "Handset full",
        "mm7-dr",
    )


def test_a_successful_report_has_no_reason() -> None:
    update = delivery_report_update(dr("Retrieved", "Success"), AT)
    assert (update.status, update.reason) == (Status.DELIVERED, None)


def test_an_unknown_report_is_kept_raw() -> None:
    update = delivery_report_update(dr("Unreachable", None), AT)
    assert (update.status, update.provider_status) == (Status.UNKNOWN, "Unreachable")


def rr(raw: str) -> ReadReplyRequest:
    return ReadReplyRequest(HEADER, "m", RECIPIENT, raw)


def test_a_read_reply_delivers_a_sent_message() -> None:
    update = read_reply_update(rr("Read"), AT)
    assert update is not None
    moved = advance(Progress(status=Status.SENT), update)
    assert moved is not None
    assert (moved.status, moved.provider_status) == (Status.DELIVERED, "Read")


def test_an_indeterminate_read_reply_changes_nothing() -> None:
    assert read_reply_update(rr("Indeterminate"), AT) is None
