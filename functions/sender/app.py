"""Sender: send requests from the SQS queue, each through Orange, with partial batch failures."""

import time
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.config import sender_config
from gateway.observability import logger, metrics, tracer
from gateway.send_queue import backoff_seconds, postpone, requeue
from gateway.sending import Delivery, RetryLater
from gateway.wiring import sender

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    logger.set_correlation_id(None)  # not the previous record's: the sender sets this one's
    # From when the request was queued (or queued anew after a hold) to now: a backlog shows.
    age_ms = time.time() * 1000 - int(record.attributes.sent_timestamp)
    metrics.add_metric(name="QueueAgeMs", unit="Milliseconds", value=max(0.0, age_ms))
    receive_count = int(record.attributes.approximate_receive_count)
    delivery = Delivery(
        body=record.body,
        queue_message_id=record.message_id,
        receive_count=receive_count,
        time_left=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
    )
    try:
        return sender().process(delivery)
    except RetryLater as retry:
        delay = retry.delay if retry.delay is not None else backoff_seconds(receive_count)
        if not retry.counted:
            requeue(sender_config().queue_url, record.body, retry.message_id, delay)
            return "requeued"
        # Failing the record returns it to the queue; its visibility sets when it comes back.
        postpone(sender_config().queue_url, record.receipt_handle, delay)
        raise


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
