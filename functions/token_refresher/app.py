"""Token refresher: renews each Orange account's access token before it runs out (scheduled)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.observability import logger, metrics, tracer
from gateway.orange.tokens import refresh_accounts
from gateway.wiring import refreshed_token_stores


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcomes = refresh_accounts(refreshed_token_stores())
    logger.info("tokens checked", outcomes=outcomes)
    return {"accounts": outcomes}
