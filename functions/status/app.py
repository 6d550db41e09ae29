"""Status: `GET /messages/{id}` -> one message's state and history (404 when unknown)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.observability import logger, metrics, tracer
from gateway.wiring import repository

app = APIGatewayRestResolver()


@app.get("/messages/<message_id>")
def get_message(message_id: str) -> dict[str, Any]:
    message = repository().get(message_id)
    if message is None:
        raise NotFoundError(f"no message with id {message_id!r}")
    return message.public_view()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
