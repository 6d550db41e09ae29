"""API Gateway REST proxy integration shapes: the v1 event a function receives, and the
HTTP response API Gateway makes of what the function returns."""

import base64
import binascii
import fnmatch
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request

from infra.local.aws import ACCOUNT_ID
from infra.local.template.functions import ApiEvent

logger = logging.getLogger(__name__)

# API Gateway's payload limit, and its responses when a request cannot reach the function.
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_error(status: int, message: str, error_type: str, request_id: str) -> HttpResponse:
    """API Gateway's own error response, e.g. 403 Missing Authentication Token."""
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error_type),
    ]
    return HttpResponse(status, headers, json.dumps({"message": message}).encode())


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """Whether API Gateway base64-encodes a body of this type (patterns like image/*)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(media_type, pattern.lower()) for pattern in binary_media_types)


def _single_and_multi(
    pairs: Mapping[str, list[str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    # API Gateway keeps the last value in the single-value map, and null for none at all.
    if not pairs:
        return None, None
    return {key: values[-1] for key, values in pairs.items()}, dict(pairs)


def proxy_event(
    request: Request,
    *,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    route: ApiEvent,
    path_parameters: Mapping[str, str],
    request_id: str,
    received_at: datetime,
) -> dict[str, Any]:
    """The REST API (payload v1) proxy event for `request` matched to `route`."""
    source_ip = request.remote_addr or ""
    forwarded_for = [value for name, value in headers if name.lower() == "x-forwarded-for"]
    # API Gateway sets these before the integration, like a load balancer.
    added = {
        "X-Forwarded-For": ", ".join([*forwarded_for, source_ip]),
        "X-Forwarded-Proto": request.scheme,
        "X-Forwarded-Port": str(request.server[1] if request.server else ""),
    }
    header_values: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() not in {key.lower() for key in added}:
            header_values.setdefault(name, []).append(value)
    for name, value in added.items():
        header_values[name] = [value]
    single_headers, multi_headers = _single_and_multi(header_values)
    query, multi_query = _single_and_multi({key: request.args.getlist(key) for key in request.args})
    binary = is_binary(request.content_type, route.api.binary_media_types)
    if not body:
        event_body = None
    elif binary:
        event_body = base64.b64encode(body).decode("ascii")
    else:
        event_body = body.decode("utf-8", errors="replace")
    stage = route.api.stage_name
    return {
        "resource": route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": hashlib.sha256(route.path.encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": stage,
            "domainPrefix": request.host.split(".", 1)[0],
            "requestTimeEpoch": int(received_at.timestamp() * 1000),
            "requestId": request_id,
            # Signed (AWS_IAM) callers would be named here on AWS; locally nobody signs.
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": request.user_agent.string or None,
                "user": None,
            },
            "domainName": request.host,
            "apiId": route.api.api_id,
        },
        "body": event_body,
        "isBase64Encoded": binary and event_body is not None,
    }


def http_response(result: object, request_id: str) -> HttpResponse:
    """The HTTP response API Gateway makes of a proxy integration's result."""
    try:
        return _http_response(result, request_id)
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        # API Gateway answers a malformed proxy response with a 502, as for a failed invocation.
        logger.warning("malformed Lambda proxy response: request_id=%s error=%r", request_id, error)
        return gateway_error(
            502, "Internal server error", "InternalServerErrorException", request_id
        )


def _http_response(result: object, request_id: str) -> HttpResponse:
    if not isinstance(result, Mapping):
        raise TypeError(f"expected an object, got {type(result).__name__}")
    status = int(result["statusCode"])
    headers: list[tuple[str, str]] = [
        (str(name), str(value))
        for name, values in (result.get("multiValueHeaders") or {}).items()
        for value in values
    ]
    named = {name.lower() for name, _ in headers}
    headers += [
        (str(name), str(value))
        for name, value in (result.get("headers") or {}).items()
        if name.lower() not in named
    ]
    if "content-type" not in {name.lower() for name, _ in headers}:
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    headers.append(("x-amzn-RequestId", request_id))
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError(f"body must be a string, got {type(body).__name__}")
    if result.get("isBase64Encoded"):
        return HttpResponse(status, headers, base64.b64decode(body, validate=True))
    return HttpResponse(status, headers, body.encode())
