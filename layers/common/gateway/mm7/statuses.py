"""MM7 MMStatus values mapped onto the gateway's normalised statuses (DESIGN.md, "Message
lifecycle"), and the status updates a delivery report or a read reply makes.

Values are compared case-insensitively; a value not listed is kept raw as the provider status
and counts as unknown.
"""

from gateway.core.lifecycle import StatusUpdate
from gateway.core.status import Status
from gateway.mm7.model import DeliveryReportRequest, ReadReplyRequest

DELIVERY_REPORT_SOURCE = "mm7-dr"
READ_REPLY_SOURCE = "mm7-rr"

DELIVERY: dict[str, Status] = {
    "forwarded": Status.SENT,
    "deferred": Status.SENT,
    "indeterminate": Status.UNKNOWN,
    "unrecognised": Status.UNKNOWN,
    "unrecognized": Status.UNKNOWN,
    "rejected": Status.UNDELIVERED,
    "expired": Status.UNDELIVERED,
    "deliveryconditionnotmet": Status.UNDELIVERED,
    "retrieved": Status.DELIVERED,
    # Not a 23.140 value, but the seed says the aggregator relays a "Delivered" status when
    # the handset has the message.
    "delivered": Status.DELIVERED,
}

# Only the recipient's MMS user agent sends a read report, and only for an MM it has
# retrieved: "Read" and "Deleted" (without being read) both prove the MM reached the handset,
# so a read reply can move a message to delivered (a delivery report may never come: handset
# delivery reports are optional). "Indeterminate" says nothing about delivery and changes
# nothing, which is also what an unknown read status does: mapping it to unknown would move
# a message that is only sent.
READ: dict[str, Status] = {
    "read": Status.DELIVERED,
    "deleted": Status.DELIVERED,
}


def delivery_status(mm_status: str) -> Status:
    return DELIVERY.get(mm_status.strip().lower(), Status.UNKNOWN)


def read_status(mm_status: str) -> Status | None:
    """The delivery status a read reply proves, or None when it proves none."""
    return READ.get(mm_status.strip().lower())


def delivery_report_update(report: DeliveryReportRequest, at: str) -> StatusUpdate:
    status = delivery_status(report.mm_status)
    return StatusUpdate(
        status=status,
        at=at,
        source=DELIVERY_REPORT_SOURCE,
        provider_status=report.mm_status,
        # The seed puts the reason of a Rejected in StatusText; on success it only says so.
        reason=report.status_text if status in (Status.UNKNOWN, Status.UNDELIVERED) else None,
    )


def read_reply_update(reply: ReadReplyRequest, at: str) -> StatusUpdate | None:
    """None when the read reply changes nothing (the handler still answers it with success)."""
    status = read_status(reply.mm_status)
    if status is None:
        return None
    return StatusUpdate(
        status=status,
        at=at,
        source=READ_REPLY_SOURCE,
        provider_status=reply.mm_status,
    )
