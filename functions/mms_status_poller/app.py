"""MMS status poller: one round of Orange Poland MMSDeliveryStatus polls (scheduled)."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.observability import logger, metrics, tracer
from gateway.wiring import orange_pl_poller


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return asdict(orange_pl_poller().run_round())
