"""Orange SMS `deliveryStatus` values mapped onto the gateway's statuses (DESIGN.md, "Message
lifecycle"), and the receipt metric named from them."""

from gateway.core.status import Status

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
