"""Orange receipts: `POST /callbacks/orange/dr/{token}` (deliveryInfoNotification) -> state."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.api import refusal
from gateway.core.callback_auth import CallbackRefused
from gateway.observability import logger, metrics, tracer
from gateway.orange.config import receipt_config
from gateway.orange.receipts import NOT_STORED, MalformedReceipt, check_orange_receipt
from gateway.wiring import orange_receipts, receipt_token

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
    orange_receipts().handle(app.current_event.body or "")
    return Response(200, content_types.TEXT_PLAIN, "OK")


@app.exception_handler(CallbackRefused)  # type: ignore[untyped-decorator]  # powertools leaves it untyped
def refused(error: CallbackRefused) -> Response[str]:
    return refusal(error, log_message="receipt refused")


@app.exception_handler(MalformedReceipt)  # type: ignore[untyped-decorator]
def malformed(error: MalformedReceipt) -> Response[dict[str, str]]:
    logger.warning("malformed receipt", reason=str(error))
    return Response(400, content_types.APPLICATION_JSON, {"error": f"malformed receipt: {error}"})


@app.exception_handler(list(NOT_STORED))  # type: ignore[untyped-decorator]
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
