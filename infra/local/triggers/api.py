"""The HTTP front: the template's HTTP API routes served on loopback, as API Gateway serves them.

A route's integration is a function (it gets the payload format 2.0 event; its result becomes
the response) or SQS-SendMessage (API Gateway puts the request on a queue itself). A route
throttled by its API's route settings answers 429 past its limits; a request no route takes
gets 404. URLs carry no stage prefix (http://127.0.0.1:3000/messages/x); the event's rawPath
has it, as on AWS. Routes with an authorizer (AWS_IAM) are open locally: nothing signs
requests on this machine, and the handlers do not depend on it.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import (
    DEFAULT_ROUTE,
    FunctionSpec,
    HttpApiEvent,
    HttpApiSpec,
    Throttle,
)
from infra.local.triggers.apigateway import (
    MAX_BODY_BYTES,
    ApiRequest,
    HttpResponse,
    gateway_error,
    lambda_event,
    lambda_response,
    new_request_id,
    with_forwarding,
)
from infra.local.triggers.apigateway_sqs import SqsSendMessageIntegration

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

type Invoke = Callable[[str, Any], Invocation]

RAW_HEADERS = "infra.local.raw_headers"


class Integration(Protocol):
    def answer(self, request: ApiRequest) -> HttpResponse: ...


@dataclass(frozen=True)
class LambdaProxy:
    """A function integration (AWS_PROXY, payload format 2.0)."""

    function_id: str
    invoke: Invoke

    def answer(self, request: ApiRequest) -> HttpResponse:
        invocation = self.invoke(self.function_id, lambda_event(request))
        if invocation.error is not None:
            # An HTTP API answers a failed invocation with 500 (a REST API with 502).
            return gateway_error(500, "Internal Server Error", request.request_id)
        return lambda_response(invocation.result, request.request_id)


class TokenBucket:
    """A route's throttle: up to its burst limit at once, refilled at its rate a second."""

    def __init__(self, throttle: Throttle) -> None:
        self._rate = throttle.rate_limit
        self._burst = float(throttle.burst_limit)
        self._tokens = self._burst
        self._updated = time.monotonic()
        self._lock = threading.Lock()  # requests arrive on the server's threads

    def take(self) -> bool:
        """Whether a request may pass now (it then uses a token)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


@dataclass(frozen=True)
class Route:
    api: HttpApiSpec
    key: str  # "POST /callbacks/mm7", or "$default"
    integration: Integration
    bucket: TokenBucket | None

    @property
    def method(self) -> str:
        return self.key.split(" ", 1)[0]

    @property
    def segments(self) -> list[str]:
        path = self.key.split(" ", 1)[-1]
        return [segment for segment in path.split("/") if segment]

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """The path parameters when the route serves this request, else None."""
        if self.key == DEFAULT_ROUTE:
            return {}
        if self.method not in ("ANY", method):
            return None
        return _path_parameters(self.segments, segments)

    def specificity(self) -> tuple[bool, list[int], int]:
        """Sort key: literal segments before parameters before greedy ones, a method before
        ANY, $default last."""
        kinds = [
            2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0
            for segment in self.segments
        ]
        return self.key == DEFAULT_ROUTE, kinds, int(self.method == "ANY")


def _path_parameters(patterns: list[str], segments: list[str]) -> dict[str, str] | None:
    """The path parameters when `segments` fit the route's `patterns`, else None."""
    parameters = {}
    for index, pattern in enumerate(patterns):
        if index >= len(segments):
            return None
        if pattern.startswith("{") and pattern.endswith("+}"):  # greedy: the rest, at least one
            parameters[pattern[1:-2]] = "/".join(segments[index:])
            return parameters
        if pattern.startswith("{") and pattern.endswith("}"):
            parameters[pattern[1:-1]] = segments[index]
        elif pattern != segments[index]:
            return None
    return parameters if len(segments) == len(patterns) else None


def _route(api: HttpApiSpec, key: str, integration: Integration) -> Route:
    throttle = api.throttle(key)
    return Route(api, key, integration, None if throttle is None else TokenBucket(throttle))


def build_routes(
    functions: Iterable[FunctionSpec],
    apis: Iterable[HttpApiSpec],
    invoke: Invoke,
    sqs: "SQSClient",
) -> list[Route]:
    """Every HttpApi event's route and every SQS-SendMessage route, most specific first."""
    routes = []
    for function in functions:
        for event in function.events:
            if not isinstance(event, HttpApiEvent):
                continue
            routes.append(
                _route(event.api, event.route_key, LambdaProxy(function.logical_id, invoke))
            )
            if event.authorizer is not None:
                logger.info(
                    "route open locally, authorizer not enforced: route=%s authorizer=%s",
                    event.route_key,
                    event.authorizer,
                )
    for api in apis:
        for sqs_route in api.sqs_routes:
            where = f"{api.logical_id}.DefinitionBody {sqs_route.route_key}"
            routes.append(
                _route(api, sqs_route.route_key, SqsSendMessageIntegration(sqs_route, sqs, where))
            )
    return sorted(routes, key=Route.specificity)


class _RequestHandler(WSGIRequestHandler):
    def make_environ(self) -> "WSGIEnvironment":
        # WSGI folds repeated headers into one, which would run two Cookie headers' cookies
        # together; the raw list rides along in the environ.
        environ = super().make_environ()
        environ[RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug's access line shows the raw path, which can hold a secret (the receipt
        # URL's token); requests are logged by route key instead.
        return


class _Request(Request):
    max_content_length = MAX_BODY_BYTES


class ApiFront:
    """A threaded werkzeug server answering requests through their routes' integrations."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = list(routes)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> None:
        server = make_server(host, port, self._app, threaded=True, request_handler=_RequestHandler)
        self._thread = threading.Thread(target=server.serve_forever, name="api-front", daemon=True)
        self._thread.start()
        self._server = server

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("API front not started")
        return f"http://{self._server.host}:{self._server.port}"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()  # serve_forever then closes the listening socket
            self._thread.join()
        self._server = self._thread = None

    def _app(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Any:
        request = _Request(environ)
        response = self._handle(request)
        wsgi_response = Response(response.body, status=response.status, headers=response.headers)
        return wsgi_response(environ, start_response)

    def _route_for(self, request: Request) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:  # most specific first
            segments = _segments(_without_stage(request.path, route.api.stage_name))
            parameters = route.match(request.method, segments)
            if parameters is not None:
                return route, parameters
        return None

    def _handle(self, request: Request) -> HttpResponse:
        request_id = new_request_id()
        matched = self._route_for(request)
        if matched is None:
            response = gateway_error(404, "Not Found", request_id)
        else:
            response = self._answer(request, *matched, request_id)
        # The route key, never the path: the receipt URL's last segment is a secret.
        logger.info(
            'api request: route="%s" status=%s request_id=%s',
            "-" if matched is None else matched[0].key,
            response.status,
            request_id,
        )
        return response

    def _answer(
        self, request: Request, route: Route, parameters: dict[str, str], request_id: str
    ) -> HttpResponse:
        received_at = datetime.now(UTC)
        if route.bucket is not None and not route.bucket.take():
            return gateway_error(429, "Too Many Requests", request_id)
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return gateway_error(413, "Request Entity Too Large", request_id)
        source_ip = request.remote_addr or ""
        headers = request.environ.get(RAW_HEADERS, list(request.headers.items()))
        port = str(request.server[1] if request.server else "")
        api_request = ApiRequest(
            api=route.api,
            route_key=route.key,
            method=request.method,
            path=_without_stage(request.path, route.api.stage_name),
            raw_query=request.query_string.decode("utf-8", errors="replace"),
            query={key: request.args.getlist(key) for key in request.args},
            headers=with_forwarding(headers, source_ip, request.scheme, port),
            body=body,
            path_parameters=parameters,
            source_ip=source_ip,
            host=request.host,
            protocol=request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            request_id=request_id,
            received_at=received_at,
        )
        return route.integration.answer(api_request)


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _without_stage(path: str, stage: str) -> str:
    """The path as routes see it. URLs work locally with the stage in front, as on AWS
    (https://{api}.execute-api.../v1/messages/x: what the API's own answers link to), or
    without it (http://127.0.0.1:3000/messages/x)."""
    prefix = f"/{stage}"
    return path.removeprefix(prefix) if path.startswith(f"{prefix}/") else path
