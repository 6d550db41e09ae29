"""Normalised message statuses and their ranks (DESIGN.md, "Message lifecycle"); each carrier
package maps its own vocabulary onto them."""

from enum import StrEnum


class Status(StrEnum):
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    SENT = "sent"
    UNKNOWN = "unknown"
    UNDELIVERED = "undelivered"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


RANK: dict[Status, int] = {
    Status.ACCEPTED: 0,
    Status.SUBMITTED: 1,
    Status.SENT: 2,
    Status.UNKNOWN: 3,
    Status.UNDELIVERED: 4,
    Status.DELIVERED: 5,
}
FINAL: frozenset[Status] = frozenset(
    {Status.DELIVERED, Status.REJECTED, Status.FAILED, Status.EXPIRED, Status.CANCELLED}
)
# rejected and failed are reachable only before the carrier has the message.
BEFORE_SENT: frozenset[Status] = frozenset({Status.ACCEPTED, Status.SUBMITTED})
# expired and cancelled only while the message waits to be handed to the carrier: once it is
# `submitted` it was sent (the send mark decides a race, see gateway.core.sending).
NOT_SENT: frozenset[Status] = frozenset({Status.EXPIRED, Status.CANCELLED})


def can_move(current: Status, new: Status) -> bool:
    """A status only moves forward in rank; final statuses never move."""
    if current in FINAL or new == current:
        return False
    if new in NOT_SENT:
        return current == Status.ACCEPTED
    if new in (Status.REJECTED, Status.FAILED):
        return current in BEFORE_SENT
    return RANK[new] > RANK[current]
