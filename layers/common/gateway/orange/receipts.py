"""Orange's delivery receipt, `deliveryInfoNotification` (seeds, "About SMS Delivery Receipt").

Read liberally (extra fields ignored, status in any case): a receipt refused here is a
receipt lost, since Orange does not say it retries.
"""

import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.lifecycle import StatusUpdate
from gateway.status import normalise_orange_sms

PROVIDER = "orange"
SOURCE = "orange-dr"


class MalformedReceipt(ValueError):
    """Not a deliveryInfoNotification we can apply; the reason goes back in the 400."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DeliveryInfo(_Lenient):
    address: str = Field(min_length=1)
    delivery_status: str = Field(alias="deliveryStatus", min_length=1)


class DeliveryInfoNotification(_Lenient):
    callback_data: str = Field(alias="callbackData", min_length=1)
    delivery_info: DeliveryInfo = Field(alias="deliveryInfo")


class ReceiptBody(_Lenient):
    notification: DeliveryInfoNotification = Field(alias="deliveryInfoNotification")


def parse_receipt(body: str) -> DeliveryInfoNotification:
    try:
        return ReceiptBody.model_validate(json.loads(body)).notification
    except json.JSONDecodeError as exc:
        raise MalformedReceipt(f"body is not JSON: {exc.msg}") from exc
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise MalformedReceipt(where) from exc


def receipt_update(notification: DeliveryInfoNotification, at: str) -> StatusUpdate:
    raw = notification.delivery_info.delivery_status.strip()
    return StatusUpdate(status=normalise_orange_sms(raw), at=at, source=SOURCE, provider_status=raw)
