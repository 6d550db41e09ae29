"""Orange Poland MMSDeliveryStatus values mapped onto the gateway's statuses (DESIGN.md)."""

from gateway.core.status import Status

# None: "Server Error", no change, poll again.
STATUSES: dict[str, Status | None] = {
    "success": Status.SENT,
    "partial success": Status.SENT,
    "retrieved": Status.DELIVERED,
    "rejected": Status.UNDELIVERED,
    "expired": Status.UNDELIVERED,
    "indeterminate": Status.UNKNOWN,
    "message id not found": Status.UNKNOWN,
    "client error": Status.REJECTED,
    "address error": Status.REJECTED,
    "address not found": Status.REJECTED,
    "message format corrupt": Status.REJECTED,
    "operation restricted": Status.REJECTED,
    "linkedid not found": Status.REJECTED,
    "server error": None,
}
# Statuses Orange PL will not change any more: polling stops there.
SETTLED = frozenset(
    {
        "retrieved",
        "rejected",
        "expired",
        "client error",
        "address error",
        "address not found",
        "message format corrupt",
        "operation restricted",
        "linkedid not found",
    }
)


def normalise(provider_status: str) -> Status | None:
    """The status, None for a transient server error; a value not listed counts as unknown."""
    return STATUSES.get(provider_status.strip().lower(), Status.UNKNOWN)


def settled(provider_status: str) -> bool:
    return provider_status.strip().lower() in SETTLED
