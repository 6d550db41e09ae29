"""What the API's callback functions answer a caller they refuse, written once: 401 with a
challenge when HTTP Basic credentials are missing or wrong, 403 otherwise; the reason is
logged and counted, never the secret presented."""

from aws_lambda_powertools.event_handler import Response, content_types

from gateway.core.callback_auth import BasicAuthRequired, CallbackRefused
from gateway.observability import logger, metrics


def refusal(error: CallbackRefused, *, log_message: str, realm: str = "") -> Response[str]:
    logger.warning(log_message, reason=str(error))
    metrics.add_metric(name="CallbacksRefused", unit="Count", value=1)
    if isinstance(error, BasicAuthRequired):
        challenge = f'Basic realm="{realm}", charset="UTF-8"'
        return Response(
            401,
            content_types.TEXT_PLAIN,
            "unauthorized",
            headers={"WWW-Authenticate": challenge},
        )
    return Response(403, content_types.APPLICATION_JSON, '{"error": "forbidden"}')
