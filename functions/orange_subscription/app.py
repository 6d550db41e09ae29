"""Orange receipt subscription: the CloudFormation custom resource that registers the deployed
receipt URL with Orange (one subscription per account) and removes it on delete."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.custom_resource import answer
from gateway.observability import logger, metrics, tracer
from gateway.wiring import receipt_subscription_resource


# The event carries a presigned ResponseURL: never logged, whatever the environment says.
@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = answer(
        event,
        lambda: context.get_remaining_time_in_millis() / 1000,
        receipt_subscription_resource(),
    )
    return {"status": outcome.status if outcome else "unanswered"}
