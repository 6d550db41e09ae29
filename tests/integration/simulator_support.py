"""What the carrier simulators' integration tests share: starting and stopping simulators and
the small endpoints they call back, Orange's token requests and errors, waiting, and running a
simulator's command line."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import requests
from werkzeug.wrappers import Request, Response

from infra.simulators._http import ThreadedServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

TIMEOUT = 5.0
ROOT = Path(__file__).resolve().parents[2]
# Orange's gateway-level 403 code 53, as the seeds show it.
TOO_MANY = {
    "code": 53,
    "message": "Too many requests",
    "description": "The application has made too many calls and has exceeded the rate limit "
    "for this service.",
}
WITHOUT_A_VALID_BEARER = pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic bG9jYWw6eA=="}],
    ids=["missing", "unknown", "not-bearer"],
)
"""A test's `headers`: the Authorization headers Orange refuses with code 41."""


class Startable(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


@contextmanager
def simulators[S: Startable](
    simulator_class: Callable[..., S], **defaults: Any
) -> Iterator[Callable[..., S]]:
    """A maker of started simulators: `defaults` unless the call overrides them, each one
    stopped on leaving the block."""
    started: list[S] = []

    def make(**kwargs: Any) -> S:
        sim = simulator_class(**{**defaults, **kwargs})
        sim.start()
        started.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in started:
            sim.stop()


@contextmanager
def running[S: Startable](server: S) -> Iterator[S]:
    """`server`, started for the block and stopped after it."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Endpoint:
    """A tiny HTTP endpoint for a simulator to call back: `_answer` answers each request,
    under `_lock` if it records them; `url` is the base URL and `path`."""

    def __init__(self, *, name: str, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._server = ThreadedServer(self._app, name=name)

    def _app(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        raise NotImplementedError

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return f"{self._server.url}{self._path}"


def request_token(url: str, client: tuple[str, str], **kwargs: Any) -> requests.Response:
    """A client-credentials token request to `url` as `client`, unless `auth` or `data` say
    otherwise."""
    kwargs.setdefault("auth", client)
    kwargs.setdefault("data", {"grant_type": "client_credentials"})
    return requests.post(url, timeout=TIMEOUT, **kwargs)


def bearer_of(token_response: requests.Response) -> dict[str, str]:
    """The Authorization header carrying the token a token request was answered with."""
    return {"Authorization": f"Bearer {token_response.json()['access_token']}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_stats(url: str) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.ConnectionError:
            time.sleep(0.05)
    return False


@contextmanager
def command_line(module: str, *args: str) -> Iterator[tuple["subprocess.Popen[bytes]", int]]:
    """`python -m module --port <a free port> *args` from the repository root, and the port;
    killed on leaving the block if it is still running."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process, port
    finally:
        process.kill()  # a no-op once it has exited
        process.wait(timeout=TIMEOUT)
