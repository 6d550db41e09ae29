"""Per SMS lifecycle (the send and its two receipts), on the local stack: Lambda invocations,
their duration and the bytes logged, by function, and every AWS request by service and
operation, with DynamoDB's write units worked out from the items written. The cost estimate
(aws_cost) takes its Lambda, SQS, log and item-size inputs from here.

One account (Côte d'Ivoire), warmed up with a few SMS; then a batch is queued at once and
counted from an idle stack until the send queue is empty, every receipt was pushed and every
invocation ended (the lane's dispatcher lingers a few seconds for more work). The stack runs its
scheduled functions at their AWS intervals, so none runs during the count. SQS ReceiveMessage
includes the local poller's empty polls, which depend on how long the count lasts (Lambda's
pollers also poll an empty queue, a cost per hour rather than per SMS); the other requests are
per SMS. Durations are this machine's (a 256 MB Lambda function has a fraction of a vCPU).
The statuses are read after the count.
"""

import logging
import statistics
from collections import Counter
from functools import partial
from typing import Any

from bench.capacity import PLAIN_WRITES, recorded_write_units, transaction_items
from bench.local import (
    CIV,
    final_views,
    gateway_client,
    local_stack,
    settle,
    sms_requests,
    wait_until,
)
from bench.recording import LogWatch, MotoRecording, invocations_running, of_service, per_message
from bench.sender_throughput import SETTLE_SECONDS, STATUS_SECONDS, warm_up

WRITES = (*PLAIN_WRITES, "TransactWriteItems")
# A dispatcher lingers 5 s after its lane empties; a send's invocations end well within this.
IDLE_SECONDS = 30.0
# Requests the benchmark itself makes during the count: settle()'s queue-depth checks.
BENCH_OWN = frozenset({"SQS.GetQueueAttributes"})

logger = logging.getLogger(__name__)


def run(quick: bool = False) -> dict[str, Any]:
    count = 10 if quick else 40
    with local_stack("bench-sms-footprint", schedule_speedup=1) as stack:
        warm_up(stack, (CIV,))
        requests_ = sms_requests("footprint", (CIV,), count)
        logger.info("SMS footprint: %d SMS", count)
        # Whole invocations only: a dispatcher lingers after its lane empties, and one that
        # started before the window or ended after it would be half counted, or not at all.
        idle = partial(invocations_running, stack.logs_dir)
        wait_until(lambda: idle() == 0, IDLE_SECONDS)
        with (
            MotoRecording(stack.clients.endpoint_url) as recording,
            LogWatch(stack.logs_dir) as logs,
        ):
            gateway_client(stack).send(requests_)
            settled = settle(stack, SETTLE_SECONDS)
            settled = wait_until(lambda: idle() == 0, IDLE_SECONDS) and settled
        views = final_views(gateway_client(stack), [r["id"] for r in requests_], STATUS_SECONDS)
    operations = [op for op in recording.operations() if op not in BENCH_OWN]
    dynamodb = of_service(operations, "DynamoDB")
    return {
        "sms": count,
        "settled": settled,
        "statuses": dict(Counter(view["status"] if view else "missing" for view in views.values())),
        "functions": {
            name: {
                "invocations": round(usage.invocations / count, 2),
                "median_duration_ms": round(statistics.median(usage.duration_ms), 1),
                # What Lambda bills: every invocation's duration, per SMS.
                "duration_ms_per_sms": round(sum(usage.duration_ms) / count, 1),
                "log_bytes": round(usage.bytes / count),
            }
            for name, usage in logs.usage.items()
            if usage.invocations
        },
        "log_bytes": round(sum(usage.bytes for usage in logs.usage.values()) / count),
        "by_operation": per_message(Counter(operations), count),
        "dynamodb_write_requests": round(sum(dynamodb[op] for op in WRITES) / count, 2),
        "dynamodb_write_units": round(recorded_write_units(recording.entries) / count, 2),
        "dynamodb_items_per_transaction": _mean(transaction_items(recording.entries)),
    }


def _mean(values: list[int]) -> float | None:
    return round(statistics.mean(values), 2) if values else None
