"""Unit tests: no network at all (sockets off); AWS through moto's in-process mock."""

import io
import json
from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket
from requests.adapters import HTTPAdapter

from gateway.observability import logger
from tests.fakes import FakeOrangeHttp
from tests.support import LogLines


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def http(monkeypatch: pytest.MonkeyPatch) -> FakeOrangeHttp:
    """Orange and CloudFormation's ResponseURL as requests' transport: no socket involved."""
    fake = FakeOrangeHttp()
    monkeypatch.setattr(
        HTTPAdapter, "send", lambda adapter, request, **kwargs: fake.send(request, **kwargs)
    )
    monkeypatch.setattr("gateway.custom_resource.time.sleep", lambda _: None)
    return fake


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the gateway's logger writes (to stdout on Lambda)."""
    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer


@pytest.fixture
def log_lines(logs: io.StringIO) -> LogLines:
    """The gateway logger's JSON lines, as CloudWatch would get them from the function."""
    return lambda: [json.loads(line) for line in logs.getvalue().splitlines()]
