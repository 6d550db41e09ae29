"""The HTTP front: the template's API routes served on loopback, as API Gateway serves them.

Each request becomes a REST proxy event for the route's function; the function's result
becomes the response. URLs carry no stage prefix (http://127.0.0.1:3000/messages/x); the
event's requestContext.path has it, as on AWS. Routes with an authorizer (AWS_IAM) are
open locally: nothing signs requests on this machine, and the handlers do not depend on it.
"""

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import ApiEvent, FunctionSpec
from infra.local.triggers.apigateway import (
    MAX_BODY_BYTES,
    HttpResponse,
    gateway_error,
    http_response,
    proxy_event,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

type Invoke = Callable[[str, Any], Invocation]

RAW_HEADERS = "infra.local.raw_headers"


@dataclass(frozen=True)
class Route:
    function_id: str
    event: ApiEvent

    @property
    def segments(self) -> list[str]:
        return [segment for segment in self.event.path.split("/") if segment]

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """The path parameters when the route serves this request, else None."""
        if self.event.method not in ("ANY", method):
            return None
        parameters = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):  # greedy: the rest, at least one
                if index >= len(segments):
                    return None
                parameters[pattern[1:-2]] = "/".join(segments[index:])
                return parameters
            if index >= len(segments):
                return None
            if pattern.startswith("{") and pattern.endswith("}"):
                parameters[pattern[1:-1]] = segments[index]
            elif pattern != segments[index]:
                return None
        return parameters if len(segments) == len(self.segments) else None

    def specificity(self) -> tuple[list[int], int]:
        """Sort key: literal segments before parameters before greedy ones, a method before ANY."""
        kinds = [
            2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0
            for segment in self.segments
        ]
        return kinds, int(self.event.method == "ANY")


def build_routes(functions: Iterable[FunctionSpec]) -> list[Route]:
    routes = [
        Route(function.logical_id, event)
        for function in functions
        for event in function.events
        if isinstance(event, ApiEvent)
    ]
    for route in routes:
        if route.event.authorizer is not None:
            logger.info(
                "route open locally, authorizer not enforced: method=%s path=%s authorizer=%s",
                route.event.method,
                route.event.path,
                route.event.authorizer,
            )
    return sorted(routes, key=Route.specificity)


class _RequestHandler(WSGIRequestHandler):
    def make_environ(self) -> "WSGIEnvironment":
        # WSGI folds repeated headers into one and loses the names' case; API Gateway keeps
        # both, so the raw list rides along in the environ.
        environ = super().make_environ()
        environ[RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug's access line shows the raw path, which can hold a secret (the receipt
        # URL's token); requests are logged by route template instead.
        return


class _Request(Request):
    max_content_length = MAX_BODY_BYTES


class ApiFront:
    """A threaded werkzeug server mapping the routes to function invocations."""

    def __init__(self, routes: Iterable[Route], invoke: Invoke) -> None:
        self._routes = list(routes)
        self._invoke = invoke
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
        segments = [segment for segment in request.path.split("/") if segment]
        for route in self._routes:  # most specific first
            parameters = route.match(request.method, segments)
            if parameters is not None:
                return route, parameters
        return None

    def _handle(self, request: Request) -> HttpResponse:
        request_id = str(uuid.uuid4())
        received_at = datetime.now(UTC)
        matched = self._route_for(request)
        if matched is None:
            # API Gateway's answer to any path or method it has no route for.
            return gateway_error(
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                request_id,
            )
        route, parameters = matched
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return gateway_error(413, "Request Too Long", "RequestTooLongException", request_id)
        event = proxy_event(
            request,
            headers=request.environ.get(RAW_HEADERS, list(request.headers.items())),
            body=body,
            route=route.event,
            path_parameters=parameters,
            request_id=request_id,
            received_at=received_at,
        )
        invocation = self._invoke(route.function_id, event)
        if invocation.error is not None:
            response = gateway_error(
                502, "Internal server error", "InternalServerErrorException", request_id
            )
        else:
            response = http_response(invocation.result, request_id)
        logger.info(
            "api request: method=%s resource=%s status=%s request_id=%s",
            request.method,
            route.event.path,
            response.status,
            request_id,
        )
        return response
