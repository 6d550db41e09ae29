"""API Gateway's SQS-SendMessage integration: an HTTP API route whose request API Gateway puts
on a queue itself, SendMessage's parameters mapped from the request with HTTP API parameter
mapping, answered with SQS's own answer.

A mapping is a static value, one value (`$request.body`, `$request.header.NAME`,
`$context.requestId`), or text with values in it (`"token": "${request.path.token}"`; a
missing value reads as empty). Mappings are read when the stack starts: one the stack cannot
evaluate stops it, naming it.
"""

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.aws import ACCOUNT_ID
from infra.local.template.functions import SqsSendMessage
from infra.local.template.intrinsics import TemplateError
from infra.local.triggers.apigateway import (
    REQUEST_ID_HEADER,
    ApiRequest,
    HttpResponse,
    gateway_error,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

type Mapped = Callable[[ApiRequest], str | None]

# SendMessage's parameters the stack passes on; Region has no meaning with one moto.
_PARAMETERS = frozenset(
    {
        "QueueUrl",
        "MessageBody",
        "MessageAttributes",
        "DelaySeconds",
        "MessageGroupId",
        "MessageDeduplicationId",
    }
)
_IGNORED = frozenset({"Region"})
_REQUIRED = ("QueueUrl", "MessageBody")

_WHOLE = re.compile(r"\$((?:request|context|stageVariables)\.[^\s${}]+)")
_EMBEDDED = re.compile(r"\$\{([^}]*)\}")

_CONTEXT: Mapping[str, Mapped] = {
    "accountId": lambda request: ACCOUNT_ID,
    "apiId": lambda request: request.api.api_id,
    "domainName": lambda request: request.host,
    "httpMethod": lambda request: request.method,
    "identity.sourceIp": lambda request: request.source_ip,
    "identity.userAgent": lambda request: request.header("user-agent"),
    "path": lambda request: request.raw_path,
    "requestId": lambda request: request.request_id,
    "requestTime": lambda request: request.time,
    "requestTimeEpoch": lambda request: str(request.time_epoch),
    "routeKey": lambda request: request.route_key,
    "stage": lambda request: request.api.stage_name,
}
_REQUEST: Mapping[str, Callable[[ApiRequest, str], str | None]] = {
    "header": lambda request, name: request.header(name),
    "querystring": lambda request, name: ",".join(request.query.get(name, ())) or None,
    "path": lambda request, name: request.path_parameters.get(name),
}


def _body_text(request: ApiRequest) -> str:
    return request.body.decode("utf-8", errors="replace")  # SQS messages are text


def _selector(selector: str, where: str) -> Mapped:
    """The value `request.header.NAME`, `context.requestId`... stands for."""
    if selector == "request.body":
        return _body_text
    if selector == "request.path":
        return lambda request: request.path
    source, _, name = selector.partition(".")
    if source == "context" and name in _CONTEXT:
        return _CONTEXT[name]
    kind, _, key = name.partition(".")
    if source == "request" and kind in _REQUEST and key:
        read = _REQUEST[kind]
        return lambda request: read(request, key)
    raise TemplateError(f"{where}: parameter mapping {selector!r} not emulated locally")


def compile_mapping(expression: str, where: str) -> Mapped:
    """An HTTP API parameter mapping, evaluated for each request."""
    whole = _WHOLE.fullmatch(expression)
    if whole is not None:
        return _selector(whole.group(1), where)
    pieces = _EMBEDDED.split(expression)  # text, selector, text, ...
    texts, values = pieces[0::2], [_selector(piece, where) for piece in pieces[1::2]]
    if not values:
        return lambda request: expression

    def interpolate(request: ApiRequest) -> str:
        found = [value(request) or "" for value in values]
        return "".join(text + value for text, value in zip(texts, [*found, ""], strict=True))

    return interpolate


class _Refused(Exception):
    """SQS's refusal: its HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def _send_message_request(values: Mapping[str, str]) -> dict[str, Any]:
    """SendMessage's arguments from the mapped values, refused as SQS refuses them."""
    if not values.get("MessageBody"):
        # moto takes an empty body; SQS does not.
        raise _Refused(
            400, "MissingParameter", "The request must contain the parameter MessageBody."
        )
    request: dict[str, Any] = dict(values)
    try:
        if "MessageAttributes" in values:
            request["MessageAttributes"] = json.loads(values["MessageAttributes"])
        if "DelaySeconds" in values:
            request["DelaySeconds"] = int(values["DelaySeconds"])
    except ValueError as error:
        raise _Refused(400, "InvalidParameterValue", str(error)) from error
    if not isinstance(request.get("MessageAttributes", {}), dict):
        raise _Refused(400, "InvalidParameterValue", "MessageAttributes must be an object")
    return request


def _json_response(status: int, body: object, request_id: str) -> HttpResponse:
    headers = [("Content-Type", "application/json"), (REQUEST_ID_HEADER, request_id)]
    return HttpResponse(status, headers, json.dumps(body).encode())


def _sent(answer: Mapping[str, Any], request_id: str) -> HttpResponse:
    """SendMessage's answer as API Gateway returns it: the query API's shape, in JSON."""
    fields = (
        "MD5OfMessageAttributes",
        "MD5OfMessageBody",
        "MD5OfMessageSystemAttributes",
        "MessageId",
        "SequenceNumber",
    )
    body = {
        "SendMessageResponse": {
            "ResponseMetadata": {"RequestId": answer["ResponseMetadata"]["RequestId"]},
            "SendMessageResult": {field: answer.get(field) for field in fields},
        }
    }
    return _json_response(200, body, request_id)


def _refusal(refused: _Refused, request_id: str) -> HttpResponse:
    """SQS's error as API Gateway relays it: 400 for the sender's fault, 500 for SQS's own."""
    sender = refused.status < 500
    error = {
        "Code": refused.code,
        "Message": refused.message,
        "Type": "Sender" if sender else "Receiver",
    }
    return _json_response(400 if sender else 500, {"Error": error}, request_id)


class SqsSendMessageIntegration:
    """A route's SendMessage to moto, answered as API Gateway answers it: 200 with SQS's
    answer as JSON; SQS's refusal with its status (400, or 500 for SQS's own faults)."""

    def __init__(self, route: SqsSendMessage, sqs: "SQSClient", where: str) -> None:
        unknown = sorted(set(route.parameters) - _PARAMETERS - _IGNORED)
        missing = [name for name in _REQUIRED if name not in route.parameters]
        if unknown or missing:
            raise TemplateError(
                f"{where}: SendMessage parameters not emulated locally {unknown}, missing {missing}"
            )
        self._route_key = route.route_key
        self._sqs = sqs
        self._parameters = {
            name: compile_mapping(expression, f"{where}.{name}")
            for name, expression in route.parameters.items()
            if name in _PARAMETERS
        }

    def answer(self, request: ApiRequest) -> HttpResponse:
        mapped = {name: value(request) for name, value in self._parameters.items()}
        try:
            answer = self._send(
                {name: value for name, value in mapped.items() if value is not None}
            )
        except _Refused as refused:
            logger.warning(
                "SQS refused the message: route=%s code=%s request_id=%s",
                self._route_key,
                refused.code,
                request.request_id,
            )
            return _refusal(refused, request.request_id)
        except BotoCoreError as error:
            logger.warning("SQS unreachable: route=%s error=%r", self._route_key, error)
            return gateway_error(500, "Internal Server Error", request.request_id)
        return _sent(answer, request.request_id)

    def _send(self, values: Mapping[str, str]) -> Mapping[str, Any]:
        try:
            return self._sqs.send_message(**_send_message_request(values))
        except ClientError as error:
            details = error.response.get("Error", {})
            raise _Refused(
                error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400),
                details.get("Code", "Unknown"),
                details.get("Message", ""),
            ) from error
