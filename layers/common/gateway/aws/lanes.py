"""An SQS batch processed in lanes: `workers_per_lane` threads per lane (a carrier account),
each taking the lane's records in turn, with partial batch failures as one batch would
report them.

Why: processed in order, a batch holds account B's records behind account A's rate slots,
so two accounts could not each use their whole allowance. In lanes each account's records
wait only for their own account's slots. More than one worker per lane keeps a slot taken
while another worker records its last send and stores its next message: with one, every
invocation boundary and every slow write cost the account a slot. The shared rate limiter
spaces the requests, however many are in flight.
"""

from collections import Counter, defaultdict
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


def process_in_lanes[T](
    event: dict[str, Any],
    context: LambdaContext,
    *,
    read: Callable[[dict[str, Any]], T],
    record_handler: Callable[[SQSRecord, T, LambdaContext], Any],
    lane_of: Callable[[T], str],
    workers_per_lane: int = 1,
    key_of: Callable[[T], str | None] = lambda reading: None,
) -> PartialItemFailureResponse:
    """Like powertools' `process_partial_response`, with each record `read` once (the
    reading is handed to `record_handler` with the record), the records grouped by
    `lane_of(reading)`, each lane's records dealt to `workers_per_lane` workers in turn, and
    all the workers run concurrently. Records with the same `key_of(reading)` (the same
    message sent twice) go to the same worker, one after the other. `read` must not raise:
    one unreadable record would fail the whole batch."""
    lanes: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    dealt: Counter[str] = Counter()
    workers_by_key: dict[str, tuple[str, int]] = {}
    readings: dict[str, T] = {}
    for record in event.get("Records", []):
        reading = readings[record["messageId"]] = read(record)
        key = key_of(reading)
        worker = workers_by_key.get(key) if key is not None else None
        if worker is None:
            lane = lane_of(reading)
            worker = (lane, dealt[lane] % workers_per_lane)
            dealt[lane] += 1
            if key is not None:
                workers_by_key[key] = worker
        lanes[worker].append(record)
    if not lanes:
        return {"batchItemFailures": []}

    def handle(record: SQSRecord, lambda_context: LambdaContext) -> Any:
        return record_handler(record, readings[record.message_id], lambda_context)

    if len(lanes) == 1:
        return _process(next(iter(lanes.values())), context, handle)
    trace_entity = None if tracer.disabled else xray_recorder.get_trace_entity()

    def run(records: list[dict[str, Any]]) -> PartialItemFailureResponse:
        if trace_entity is None:
            return _process(records, context, handle)
        # X-Ray keeps its context per thread: carry the invocation's segment over.
        xray_recorder.get_trace_entity()
        xray_recorder.set_trace_entity(trace_entity)
        try:
            return _process(records, context, handle)
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
