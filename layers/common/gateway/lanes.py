"""An SQS batch processed in lanes: one thread per lane (a carrier account), the records of
a lane in order, with partial batch failures as one batch would report them.

Why: processed in order, a batch holds account B's records behind account A's rate slots,
so two accounts could not each use their whole allowance. In lanes each account's records
wait only for their own account's slots, and an invocation still has at most one request
in flight per account, so the shared rate limiter's spacing is unchanged.
"""

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from aws_xray_sdk.core import xray_recorder

from gateway.observability import tracer

type RecordHandler = Callable[[SQSRecord, LambdaContext], Any]


def process_in_lanes(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    record_handler: RecordHandler,
    lane_of: Callable[[str], str],
) -> PartialItemFailureResponse:
    """Like powertools' `process_partial_response`, with the records grouped by
    `lane_of(body)` and the lanes run concurrently."""
    lanes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in event.get("Records", []):
        lanes[lane_of(record["body"])].append(record)
    if not lanes:
        return {"batchItemFailures": []}
    if len(lanes) == 1:
        return _process(next(iter(lanes.values())), context, record_handler)
    trace_entity = None if tracer.disabled else xray_recorder.get_trace_entity()

    def run(records: list[dict[str, Any]]) -> PartialItemFailureResponse:
        if trace_entity is None:
            return _process(records, context, record_handler)
        # X-Ray keeps its context per thread: carry the invocation's segment over.
        xray_recorder.get_trace_entity()
        xray_recorder.set_trace_entity(trace_entity)
        try:
            return _process(records, context, record_handler)
        finally:
            xray_recorder.clear_trace_entities()

    with ThreadPoolExecutor(max_workers=len(lanes), thread_name_prefix="lane") as pool:
        responses = list(pool.map(run, lanes.values()))
    return {"batchItemFailures": [f for r in responses for f in r["batchItemFailures"]]}


def _process(
    records: list[dict[str, Any]], context: LambdaContext, record_handler: RecordHandler
) -> PartialItemFailureResponse:
    # A processor per lane: it keeps the lane's outcomes. The whole batch failing is for the
    # caller to see in the merged failures (Lambda then retries every record, as on raise).
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event={"Records": records},
        record_handler=record_handler,
        processor=processor,
        context=context,
    )
