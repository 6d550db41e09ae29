"""Status events: the messages table's stream to `MessageStatusChanged` events on the bus,
with partial batch failures (a failed record and the ones after it come back)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.config import status_events_config
from gateway.events import publish
from gateway.observability import logger, metrics, tracer
from gateway.status_events import DETAIL_TYPE, status_change

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> str:
    change = status_change(record.raw_event)
    if change is None:
        return "no status change"
    logger.append_keys(message_id=change["id"])
    publish(status_events_config().event_bus, DETAIL_TYPE, change)
    metrics.add_metric(name="StatusEvents", unit="Count", value=1)
    logger.info("status event", previous=change["previousStatus"], status=change["status"])
    return "published"


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
