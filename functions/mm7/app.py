"""MM7: `POST /callbacks/mm7` (HTTP Basic) -> DeliveryReportReq, DeliverReq, ReadReplyReq
applied or stored -> the SOAP answer."""

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.core.callback_auth import BasicAuthRequired, CallbackRefused, check_basic
from gateway.mms.config import mm7_callback_config
from gateway.observability import logger, metrics, tracer
from gateway.wiring import mm7_callbacks, mm7_credentials

app = APIGatewayRestResolver()
CHALLENGE = {"WWW-Authenticate": 'Basic realm="carrier-gateway-mm7", charset="UTF-8"'}


@app.post("/callbacks/mm7")
def receive() -> Response[str]:
    event = app.current_event
    if not mm7_callback_config().allows(event.request_context.identity.source_ip):
        raise CallbackRefused("source address not on the MM7 allowlist")
    username, password = mm7_credentials()
    check_basic(event.headers.get("Authorization"), username=username, password=password)
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    answer = mm7_callbacks().handle(event.headers.get("Content-Type"), body)
    return Response(answer.http_status, answer.content_type, answer.body.decode("utf-8"))


@app.exception_handler(BasicAuthRequired)  # type: ignore[untyped-decorator]  # powertools leaves it untyped
def unauthorized(error: BasicAuthRequired) -> Response[str]:
    logger.warning("mm7 callback refused", reason=str(error))
    metrics.add_metric(name="CallbacksRefused", unit="Count", value=1)
    return Response(401, content_types.TEXT_PLAIN, "unauthorized", headers=CHALLENGE)


@app.exception_handler(CallbackRefused)  # type: ignore[untyped-decorator]
def forbidden(error: CallbackRefused) -> Response[str]:
    logger.warning("mm7 callback refused", reason=str(error))
    metrics.add_metric(name="CallbacksRefused", unit="Count", value=1)
    return Response(403, content_types.TEXT_PLAIN, "forbidden")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
