"""The Orange receipt parser, fuzzed: whatever the body, a receipt or MalformedReceipt with a
reason (the 400), nothing else; and every receipt Orange could send is read."""

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.orange.receipts import (
    MAX_CALLBACK_DATA,
    MAX_DELIVERY_STATUS,
    DeliveryInfoNotification,
    MalformedReceipt,
    parse_receipt,
    receipt_update,
)
from gateway.orange.statuses import ORANGE_SMS
from tests.unit.receipt_bodies import SAMPLE, receipt_bodies

FUZZ = settings(max_examples=500, deadline=None)
AT = "2026-01-01T00:00:00.000Z"
BODY = json.dumps(SAMPLE)
STATUSES = [
    "DeliveredToNetwork",
    "MessageWaiting",
    "DeliveryUncertain",
    "DeliveryImpossible",
    "DeliveredToTerminal",
]


def _parse(body: str) -> DeliveryInfoNotification | MalformedReceipt:
    try:
        return parse_receipt(body)
    except MalformedReceipt as refused:
        return refused


@FUZZ
@given(receipt_bodies())
@example("9" * 5000)  # json.loads: ValueError, int() refuses more than 4300 digits
@example("[" * 5000 + "]" * 5000)  # json.loads: RecursionError
@example('"\\ud800"')  # a lone surrogate, which no store could encode
@example("")
@example("null")
@example(BODY.replace("9b1c3c1e", "x" * MAX_CALLBACK_DATA))  # over the key's bound
@example(BODY.replace("DeliveredToTerminal", "D" * (MAX_DELIVERY_STATUS + 1)))
def test_any_body_is_a_receipt_or_refused_with_a_reason(body: str) -> None:
    notification = _parse(body)
    if isinstance(notification, MalformedReceipt):
        assert str(notification)  # the 400's reason
        return
    assert 0 < len(notification.callback_data) <= MAX_CALLBACK_DATA
    assert 0 < len(notification.delivery_info.delivery_status) <= MAX_DELIVERY_STATUS
    assert receipt_update(notification, AT).provider_status is not None


def _known_status(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper(), f" {name} "])


@FUZZ
@given(
    callback_data=st.text(min_size=1, max_size=MAX_CALLBACK_DATA),
    address=st.text(min_size=1, max_size=40),
    status=st.sampled_from(STATUSES).flatmap(_known_status),
    extra=st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10)),
)
def test_every_receipt_orange_could_send_is_read(
    callback_data: str, address: str, status: str, extra: dict[str, object]
) -> None:
    """Liberal reading survives the bounds: any reference and address, the status in any case,
    fields the parser does not know."""
    body = {
        **extra,
        "deliveryInfoNotification": {
            **extra,
            "callbackData": callback_data,
            "deliveryInfo": {**extra, "address": address, "deliveryStatus": status},
        },
    }
    notification = parse_receipt(json.dumps(body))
    assert notification.callback_data == callback_data
    assert notification.delivery_info.address == address
    update = receipt_update(notification, AT)
    assert update.status is ORANGE_SMS[status.strip().lower()]
