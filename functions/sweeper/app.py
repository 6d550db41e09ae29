"""Sweeper: receipts a sender died before applying are applied (kept over 2 minutes, their send
recorded); then messages with no final receipt 72 hours after they were sent end `unknown`
with the reason "no final receipt" (scheduled; reads sparse indexes, never scans the table)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.core.model import utc_now
from gateway.observability import logger, metrics, tracer
from gateway.wiring import tracker


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = utc_now()
    stranded = tracker().apply_stranded(now)
    return {"stranded": stranded, "swept": tracker().sweep_overdue(now)}
