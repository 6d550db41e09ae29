"""MM7: `POST /callbacks/mm7` (HTTP Basic) -> DeliveryReportReq, DeliverReq, ReadReplyReq
applied or stored -> the SOAP answer."""

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.api import refusal
from gateway.core.callback_auth import CallbackRefused, check_basic
from gateway.mms.config import mm7_callback_config
from gateway.observability import logger, metrics, tracer
from gateway.wiring import mm7_callbacks, mm7_credentials

app = APIGatewayHttpResolver()
REALM = "carrier-gateway-mm7"


@app.post("/callbacks/mm7")
def receive() -> Response[str]:
    event = app.current_event
    if not mm7_callback_config().allows(event.request_context.http.source_ip):
        raise CallbackRefused("source address not on the MM7 allowlist")
    username, password = mm7_credentials()
    check_basic(event.headers.get("Authorization"), username=username, password=password)
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    answer = mm7_callbacks().handle(event.headers.get("Content-Type"), body)
    return Response(answer.http_status, answer.content_type, answer.body.decode("utf-8"))


@app.exception_handler(CallbackRefused)  # type: ignore[untyped-decorator]  # powertools leaves it untyped
def refused(error: CallbackRefused) -> Response[str]:
    return refusal(error, log_message="mm7 callback refused", realm=REALM)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
