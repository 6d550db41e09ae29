"""Orange's delivery receipt, `deliveryInfoNotification` (seeds, "About SMS Delivery Receipt"):
who may post one, how it is read, and `OrangeReceipts.handle`, the one call the handler makes.

Read liberally (extra fields ignored, status in any case): a receipt refused here is a
receipt lost, since Orange does not say it retries.
"""

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.aws.clients import AWS_FAILURES
from gateway.core.callback_auth import CallbackRefused, check_secret
from gateway.core.lifecycle import StatusUpdate
from gateway.core.masking import mask_msisdn
from gateway.core.model import utc_now
from gateway.core.tracking import Applied, ConcurrentUpdates, StatusTracker
from gateway.observability import logger, metrics
from gateway.orange.config import ReceiptConfig
from gateway.orange.statuses import normalise_orange_sms, orange_sms_metric_name

PROVIDER = "orange"
SOURCE = "orange-dr"
# What keeps a receipt storable: callbackData (Orange's resource id, far shorter) goes into a
# DynamoDB key, at most 2048 bytes; deliveryStatus goes into the history and a metric's name.
MAX_CALLBACK_DATA = 256
MAX_DELIVERY_STATUS = 64


# Failures of the gateway's own storage: Orange is asked to come back with the receipt.
NOT_STORED = (*AWS_FAILURES, ConcurrentUpdates)


class MalformedReceipt(ValueError):
    """Not a deliveryInfoNotification we can apply; the reason goes back in the 400."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DeliveryInfo(_Lenient):
    address: str = Field(min_length=1)
    delivery_status: str = Field(
        alias="deliveryStatus", min_length=1, max_length=MAX_DELIVERY_STATUS
    )


class DeliveryInfoNotification(_Lenient):
    callback_data: str = Field(alias="callbackData", min_length=1, max_length=MAX_CALLBACK_DATA)
    delivery_info: DeliveryInfo = Field(alias="deliveryInfo")


class ReceiptBody(_Lenient):
    notification: DeliveryInfoNotification = Field(alias="deliveryInfoNotification")


def parse_receipt(body: str) -> DeliveryInfoNotification:
    # pydantic's JSON parser, not json.loads: a 5,000-digit number or deep nesting is a
    # ValidationError there, where json.loads raises ValueError or RecursionError (a 500).
    try:
        return ReceiptBody.model_validate_json(body).notification
    except ValidationError as exc:
        raise MalformedReceipt(_reason(exc)) from exc


def _reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    if errors[0]["type"] == "json_invalid":
        return f"body is not JSON: {errors[0]['ctx']['error']}"
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)


def receipt_update(notification: DeliveryInfoNotification, at: str) -> StatusUpdate:
    raw = notification.delivery_info.delivery_status.strip()
    return StatusUpdate(status=normalise_orange_sms(raw), at=at, source=SOURCE, provider_status=raw)


def check_orange_receipt(
    config: ReceiptConfig, *, source_ip: str | None, token: str, expected: str
) -> None:
    """Orange's receipts carry a secret in the URL and come from Orange's published addresses."""
    if not config.allows(source_ip):
        raise CallbackRefused("source address not on the receipt allowlist")
    check_secret(token, expected, "receipt URL token")


class OrangeReceipts:
    def __init__(self, tracker: StatusTracker) -> None:
        self._tracker = tracker

    def handle(self, body: str) -> Applied:
        """Apply one receipt. Raises MalformedReceipt (answer 400) or one of NOT_STORED
        (answer 503: the gateway's storage failed, Orange should retry)."""
        notification = parse_receipt(body)
        update = receipt_update(notification, utc_now())
        applied = self._tracker.apply_receipt(PROVIDER, notification.callback_data, update)
        metrics.add_metric(
            name=orange_sms_metric_name(update.provider_status or ""), unit="Count", value=1
        )
        logger.info(
            "orange receipt",
            outcome=applied,
            delivery_status=update.provider_status,
            to=mask_msisdn(notification.delivery_info.address),
        )
        return applied
