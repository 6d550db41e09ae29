"""Status: `GET /messages/{id}` -> one message's state and history (404 when unknown);
`DELETE /messages/{id}` -> cancels it when it was not handed to the carrier yet (409 with its
status otherwise)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.core.cancelling import Cancel
from gateway.observability import logger, metrics, tracer
from gateway.wiring import canceller, repository

app = APIGatewayRestResolver()
CONFLICT = {
    Cancel.IN_FLIGHT: "being handed to the carrier: it ends as its send ends",
    Cancel.TOO_LATE: "already handed to the carrier, or ended",
}


@app.get("/messages/<message_id>")
def get_message(message_id: str) -> dict[str, Any]:
    message = repository().get(message_id)
    if message is None:
        raise NotFoundError(f"no message with id {message_id!r}")
    return message.public_view()


@app.delete("/messages/<message_id>")
def cancel_message(message_id: str) -> Response[dict[str, Any]]:
    result = canceller().cancel(message_id)
    if result.outcome is Cancel.NOT_FOUND or result.message is None:
        raise NotFoundError(f"no message with id {message_id!r}")
    view = {"id": message_id, "status": str(result.message.status)}
    if result.outcome is Cancel.CANCELLED:
        return Response(200, content_types.APPLICATION_JSON, view)
    return Response(
        409, content_types.APPLICATION_JSON, {**view, "reason": CONFLICT[result.outcome]}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
