"""Dispatcher: a lane's messages to its carrier, by priority, at the lane's rate. Woken
through the dispatch queue (`{"lane": ...}`) by the intake, by itself, or by a wake-up set
for a scheduled message; every minute its schedule wakes any lane whose wake-up was lost."""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.observability import logger, metrics, tracer
from gateway.wiring import dispatcher, lanes


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" not in event:  # the minute's schedule
        return {"woken": dispatcher().tick(lanes())}

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000

    def run(record: SQSRecord) -> str:
        lane = str(json.loads(record.body)["lane"])
        round_ = dispatcher().run(lane, time_left)
        return "busy" if round_.busy else "dispatched"

    return dict(
        process_partial_response(
            event=event,
            record_handler=run,
            processor=BatchProcessor(event_type=EventType.SQS),
            context=context,
        )
    )
