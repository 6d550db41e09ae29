"""Orange receipts: `POST /callbacks/orange/dr/{token}` (deliveryInfoNotification) -> state."""

import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.clients import AWS_FAILURES
from gateway.core.callback_auth import CallbackRefused
from gateway.core.masking import mask_msisdn
from gateway.core.model import utc_now
from gateway.core.tracking import ConcurrentUpdates
from gateway.observability import logger, metrics, tracer
from gateway.orange.config import receipt_config
from gateway.orange.receipts import (
    PROVIDER,
    MalformedReceipt,
    check_orange_receipt,
    parse_receipt,
    receipt_update,
)
from gateway.orange.statuses import orange_sms_metric_name
from gateway.wiring import receipt_token, tracker

app = APIGatewayRestResolver()
RETRY_AFTER_SECONDS = 5


@app.post("/callbacks/orange/dr/<token>")
def receive(token: str) -> Response[str]:
    check_orange_receipt(
        receipt_config(),
        source_ip=app.current_event.request_context.identity.source_ip,
        token=token,
        expected=receipt_token(),
    )
    notification = parse_receipt(app.current_event.body or "")
    update = receipt_update(notification, utc_now())
    applied = tracker().apply_receipt(
        PROVIDER, notification.callback_data, update, now=int(time.time())
    )
    metrics.add_metric(
        name=orange_sms_metric_name(update.provider_status or ""), unit="Count", value=1
    )
    logger.info(
        "orange receipt",
        outcome=applied,
        delivery_status=update.provider_status,
        to=mask_msisdn(notification.delivery_info.address),
    )
    return Response(200, content_types.TEXT_PLAIN, "OK")


@app.exception_handler(CallbackRefused)  # type: ignore[untyped-decorator]  # powertools leaves it untyped
def refused(error: CallbackRefused) -> Response[str]:
    logger.warning("receipt refused", reason=str(error))
    metrics.add_metric(name="CallbacksRefused", unit="Count", value=1)
    return Response(403, content_types.APPLICATION_JSON, '{"error": "forbidden"}')


@app.exception_handler(MalformedReceipt)  # type: ignore[untyped-decorator]
def malformed(error: MalformedReceipt) -> Response[dict[str, str]]:
    logger.warning("malformed receipt", reason=str(error))
    return Response(400, content_types.APPLICATION_JSON, {"error": f"malformed receipt: {error}"})


@app.exception_handler([*AWS_FAILURES, ConcurrentUpdates])  # type: ignore[untyped-decorator]
def not_stored(error: Exception) -> Response[str]:
    """The gateway's own storage failed: a 503 asks Orange to come back with the receipt,
    rather than a function error answered 502 by API Gateway."""
    logger.error("receipt not stored", error=type(error).__name__)
    metrics.add_metric(name="ReceiptServerErrors", unit="Count", value=1)
    return Response(
        503,
        content_types.APPLICATION_JSON,
        '{"error": "temporary failure, retry"}',
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
