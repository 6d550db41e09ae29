"""Sender: send requests from the SQS queue through their carriers, with partial batch
failures; each request read once, each carrier account's records in their own lane
(`gateway.aws.lanes`)."""

import time
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.lanes import process_in_lanes
from gateway.aws.send_queue import postpone, requeue
from gateway.config import sender_config
from gateway.core.model import utc_text
from gateway.core.retry import RetryLater
from gateway.core.sending import Admission, Delivery
from gateway.observability import logger, metrics, tracer
from gateway.wiring import sender


def admit(record: dict[str, Any]) -> Admission:
    return sender().admit(record["body"], f"sqs-{record['messageId']}")


def record_handler(record: SQSRecord, admission: Admission, lambda_context: LambdaContext) -> str:
    logger.thread_safe_remove_keys(["correlation_id"])  # the previous record's
    # From when the request was queued (or queued anew after a hold) to now: a backlog shows.
    sent_ms = int(record.attributes.sent_timestamp)
    age_ms = time.time() * 1000 - sent_ms
    metrics.add_metric(name="QueueAgeMs", unit="Milliseconds", value=max(0.0, age_ms))
    delivery = Delivery(
        body=record.body,
        queue_message_id=record.message_id,
        receive_count=int(record.attributes.approximate_receive_count),
        time_left=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
        queued_at=utc_text(datetime.fromtimestamp(sent_ms / 1000, UTC)),
    )
    try:
        return sender().process(delivery, admission)
    except RetryLater as retry:
        # Carry out the retry policy's decision (gateway.core.retry) on the queue.
        if not retry.counted:
            requeue(sender_config().queue_url, record.body, retry.message_id, retry.delay)
            return "requeued"
        # Failing the record returns it to the queue; its visibility sets when it comes back.
        postpone(sender_config().queue_url, record.receipt_handle, retry.delay)
        raise


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_in_lanes(
        event,
        context,
        read=admit,
        record_handler=record_handler,
        lane_of=lambda admission: admission.lane,
        workers_per_lane=sender_config().workers_per_account,
        # The same id twice in a batch: the second finds the first sent, not being sent.
        key_of=lambda admission: admission.message_id,
    )
