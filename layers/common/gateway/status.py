"""Normalised message statuses, their ranks, and each carrier's status vocabulary mapped onto them
(DESIGN.md, "Message lifecycle")."""

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


RANK: dict[Status, int] = {
    Status.ACCEPTED: 0,
    Status.SUBMITTED: 1,
    Status.SENT: 2,
    Status.UNKNOWN: 3,
    Status.UNDELIVERED: 4,
    Status.DELIVERED: 5,
}
FINAL: frozenset[Status] = frozenset({Status.DELIVERED, Status.REJECTED, Status.FAILED})
# rejected and failed are reachable only before the carrier has the message.
BEFORE_SENT: frozenset[Status] = frozenset({Status.ACCEPTED, Status.SUBMITTED})


def can_move(current: Status, new: Status) -> bool:
    """A status only moves forward in rank; final statuses never move."""
    if current in FINAL or new == current:
        return False
    if new in (Status.REJECTED, Status.FAILED):
        return current in BEFORE_SENT
    return RANK[new] > RANK[current]


ORANGE_SMS: dict[str, Status] = {
    "deliveredtonetwork": Status.SENT,
    "messagewaiting": Status.SENT,
    "deliveryuncertain": Status.UNKNOWN,
    # DeliveryImpossible may still turn into DeliveredToTerminal, which outranks it.
    "deliveryimpossible": Status.UNDELIVERED,
    "deliveredtoterminal": Status.DELIVERED,
}


ORANGE_SMS_NAMES = {
    name.lower(): name
    for name in (
        "DeliveredToNetwork",
        "MessageWaiting",
        "DeliveryUncertain",
        "DeliveryImpossible",
        "DeliveredToTerminal",
    )
}
assert ORANGE_SMS_NAMES.keys() == ORANGE_SMS.keys()  # noqa: S101 - two views of one list


def orange_sms_metric_name(provider_status: str) -> str:
    """The receipt metric's name: the seed's spelling, or `Other`. Never the caller's text,
    which would let anyone holding the URL token mint custom metrics, each one billed."""
    return "Receipt_" + ORANGE_SMS_NAMES.get(provider_status.strip().lower(), "Other")


def normalise_orange_sms(provider_status: str) -> Status:
    """Orange's deliveryStatus, case-insensitive; a value the seeds do not list is kept raw by
    the caller and counts as unknown."""
    return ORANGE_SMS.get(provider_status.strip().lower(), Status.UNKNOWN)
