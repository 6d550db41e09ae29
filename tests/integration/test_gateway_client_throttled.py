"""`GatewayClient` against an API that throttles: a 429 (API Gateway's answer when a route's
throttle is reached, before any function ran) is sent again, over real HTTP."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from cgw.endpoints import Endpoints
from cgw.gateway_client import GatewayClient, GatewayError


class _Throttling(BaseHTTPRequestHandler):
    throttled_left = 0
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        if type(self).throttled_left > 0:
            type(self).throttled_left -= 1
            self._answer(429, {"message": "Too Many Requests"})
        else:
            self._answer(200, {"id": "m-1", "status": "delivered"})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def api() -> Iterator[str]:
    _Throttling.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def client(api_url: str) -> GatewayClient:
    endpoints = Endpoints(
        api_url=api_url,
        send_queue_url="http://127.0.0.1:1/queue",
        region="eu-west-1",
        aws_endpoint_url="http://127.0.0.1:1",
    )
    return GatewayClient(endpoints, sqs=object())  # type: ignore[arg-type]  # no queue used


def test_a_throttled_read_is_sent_again_until_answered(api: str) -> None:
    _Throttling.throttled_left = 3

    assert client(api).status("m-1") == {"id": "m-1", "status": "delivered"}
    assert _Throttling.seen == ["/messages/m-1"] * 4


def test_a_read_throttled_every_time_is_reported(api: str) -> None:
    _Throttling.throttled_left = 100

    with pytest.raises(GatewayError, match="HTTP 429"):
        client(api).status("m-1")
    assert len(_Throttling.seen) == 7  # the first try and six more
