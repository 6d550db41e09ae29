"""Token refresher: renews the Orange access token before it runs out (scheduled)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.observability import logger, metrics, tracer
from gateway.wiring import token_store


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refreshed = token_store().refresh_if_due()
    logger.info("token checked", refreshed=refreshed)
    return {"refreshed": refreshed}
