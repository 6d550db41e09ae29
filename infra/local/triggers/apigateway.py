"""API Gateway HTTP API shapes: a request once its route is chosen, the payload format 2.0
event a Lambda integration receives, the response API Gateway makes of the function's result,
and API Gateway's own error responses."""

import base64
import binascii
import json
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.local.aws import ACCOUNT_ID
from infra.local.template.functions import DEFAULT_STAGE, HttpApiSpec

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # an HTTP API's payload limit
REQUEST_ID_HEADER = "apigw-requestid"
# Request bodies a Lambda integration gets as text: text/* and these. Any other body (no
# Content-Type, application/x-www-form-urlencoded, +json and +xml types included) comes
# base64-encoded. HTTP APIs have no binaryMediaTypes and AWS's docs list no types; this is
# the split observed on AWS (ministackorg/ministack#766 tested it there). Where unsure, base64
# is the safe side: a handler ignoring isBase64Encoded fails here as it could on AWS.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class ApiRequest:
    """A request as API Gateway holds it once it chose the route."""

    api: HttpApiSpec
    route_key: str
    method: str
    path: str  # as routes match it: without the stage
    raw_query: str
    query: Mapping[str, Sequence[str]]
    headers: Sequence[tuple[str, str]]  # as received (names' case, repeats), forwarding added
    body: bytes
    path_parameters: Mapping[str, str]
    source_ip: str
    host: str
    protocol: str
    request_id: str
    received_at: datetime

    def header(self, name: str) -> str | None:
        """A header's values joined with commas, as API Gateway joins repeated headers."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None

    @property
    def raw_path(self) -> str:
        """The path with the stage's name in front, as on AWS (not for a $default stage)."""
        stage = self.api.stage_name
        return self.path if stage == DEFAULT_STAGE else f"/{stage}{self.path}"

    @property
    def time(self) -> str:
        return self.received_at.strftime("%d/%b/%Y:%H:%M:%S +0000")

    @property
    def time_epoch(self) -> int:
        return int(self.received_at.timestamp() * 1000)


def new_request_id() -> str:
    # Shaped as an HTTP API's ("JKJaXmPLvHcESHA="): 11 random bytes in base64.
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def with_forwarding(
    headers: Iterable[tuple[str, str]], source_ip: str, scheme: str, port: str
) -> list[tuple[str, str]]:
    """The request's headers plus those API Gateway sets before the integration, as a load
    balancer does."""
    headers = list(headers)
    forwarded_for = [value for name, value in headers if name.lower() == "x-forwarded-for"]
    added = {
        "x-forwarded-for": ", ".join([*forwarded_for, source_ip]),
        "x-forwarded-port": port,
        "x-forwarded-proto": scheme,
    }
    return [(name, value) for name, value in headers if name.lower() not in added] + list(
        added.items()
    )


def gateway_error(status: int, message: str, request_id: str) -> HttpResponse:
    """API Gateway's own answer, e.g. 404 {"message":"Not Found"}."""
    headers = [("Content-Type", "application/json"), (REQUEST_ID_HEADER, request_id)]
    return HttpResponse(status, headers, json.dumps({"message": message}).encode())


def is_text(content_type: str | None) -> bool:
    """Whether a Lambda integration gets a body of this type as text (else base64)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def lambda_event(request: ApiRequest) -> dict[str, Any]:
    """The payload format 2.0 event for `request`. As on AWS, what the request lacks (cookies,
    query, path parameters, body) is left out, not null."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, value in request.headers:
        name = raw_name.lower()
        if name == "cookie":  # format 2.0 moves the cookies out of the headers
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": request.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": request.api.api_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".", 1)[0],
            # Signed (AWS_IAM) callers would be in authorizer.iam on AWS; locally nobody signs.
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": request.request_id,
            "routeKey": request.route_key,
            "stage": request.api.stage_name,
            "time": request.time,
            "timeEpoch": request.time_epoch,
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if request.query:
        event["queryStringParameters"] = {
            key: ",".join(values) for key, values in request.query.items()
        }
    if request.path_parameters:
        event["pathParameters"] = dict(request.path_parameters)
    if request.body:
        if is_text(request.header("content-type")):
            event["body"] = request.body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def lambda_response(result: object, request_id: str) -> HttpResponse:
    """The HTTP response API Gateway makes of a Lambda integration's result (format 2.0)."""
    try:
        return _lambda_response(result, request_id)
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        # An HTTP API answers a malformed response with 500, as for a failed invocation.
        logger.warning("malformed Lambda response: request_id=%s error=%r", request_id, error)
        return gateway_error(500, "Internal Server Error", request_id)


def _lambda_response(result: object, request_id: str) -> HttpResponse:
    if not (isinstance(result, Mapping) and "statusCode" in result):
        # Without a statusCode, any JSON value is the body of a 200 (a string as it is).
        body = result if isinstance(result, str) else json.dumps(result)
        headers = [("Content-Type", "application/json"), (REQUEST_ID_HEADER, request_id)]
        return HttpResponse(200, headers, body.encode())
    status = result["statusCode"]
    if (
        isinstance(status, bool)
        or not isinstance(status, int | str)
        or not 100 <= int(status) < 600
    ):
        raise ValueError(f"statusCode must be an HTTP status, got {status!r}")
    given = result.get("headers") or {}
    cookies = result.get("cookies") or []
    if not isinstance(given, Mapping) or not isinstance(cookies, list):
        raise TypeError("headers must be an object and cookies a list")
    headers = [(str(name), str(value)) for name, value in given.items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in cookies]
    if "content-type" not in {name.lower() for name, _ in headers}:
        headers.append(("Content-Type", "application/json"))  # API Gateway's default
    headers.append((REQUEST_ID_HEADER, request_id))
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise TypeError(f"body must be a string, got {type(body).__name__}")
    if result.get("isBase64Encoded"):
        # HTTP APIs decode whatever the request's Accept header says.
        return HttpResponse(int(status), headers, base64.b64decode(body, validate=True))
    return HttpResponse(int(status), headers, body.encode())
