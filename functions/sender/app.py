"""Sender's intake: send requests from the SQS queue recorded as messages waiting in their
lanes (partial batch failures: a record that could not be stored comes back), then each
lane with something new woken (`functions/dispatcher` sends them)."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.core.intake import Wakes
from gateway.core.model import utc_text
from gateway.core.sending import Delivery
from gateway.observability import logger, metrics, tracer
from gateway.wiring import dispatch_queue, intake, sender


def handle(record: SQSRecord, wakes: Wakes) -> str:
    logger.thread_safe_remove_keys(["correlation_id"])  # the previous record's
    sent_ms = int(record.attributes.sent_timestamp)
    age_ms = datetime.now(UTC).timestamp() * 1000 - sent_ms
    metrics.add_metric(name="QueueAgeMs", unit="Milliseconds", value=max(0.0, age_ms))
    delivery = Delivery(
        body=record.body,
        queue_message_id=record.message_id,
        queued_at=utc_text(datetime.fromtimestamp(sent_ms / 1000, UTC)),
    )
    queued = intake().receive(delivery, sender().admit(record.body, delivery.fallback_id))
    wakes.add(queued)
    return str(queued.result)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    wakes = Wakes()
    response = process_partial_response(
        event=event,
        record_handler=lambda record: handle(record, wakes),
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
    dispatch_queue().wake_all(wakes)
    return response
