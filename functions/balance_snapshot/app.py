"""Balance snapshot: each Orange account's contracts, usage and purchases -> DynamoDB and
CloudWatch metrics (scheduled, hourly)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.observability import logger, metrics, tracer
from gateway.orange.config import orange_config
from gateway.wiring import balance_snapshots, token_store


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    accounts = orange_config().account_names()
    stores = {account: token_store(account) for account in accounts}
    return {"accounts": balance_snapshots().snapshot_all(stores)}
