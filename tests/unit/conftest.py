"""Unit tests: no network at all (sockets off); AWS through moto's in-process mock."""

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

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
    monkeypatch.setattr("gateway.aws.custom_resource.time.sleep", lambda _: None)
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


@dataclass(frozen=True)
class LambdaOutput:
    """What a function printed, as Lambda ships it to CloudWatch Logs."""

    text: str

    def records(self) -> list[dict[str, Any]]:
        """The JSON lines: powertools' log records and metrics (EMF) blobs."""
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def warnings(self, message: str) -> list[dict[str, Any]]:
        return [
            r for r in self.records() if r.get("level") == "WARNING" and r["message"] == message
        ]

    def metric(self, name: str) -> list[Any]:
        """The values the EMF blobs give metric `name`, one per blob that has it."""
        return [r[name] for r in self.records() if "_aws" in r and name in r]


class _CurrentStdout:
    """sys.stdout as it is at each write, as Lambda's runtime sees the process's stdout."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def lambda_output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], LambdaOutput]]:
    """Reads what the handlers wrote to stdout and stderr so far. powertools' handler keeps
    the stream it was built with, which capsys does not replace: for the test, it writes to
    whatever sys.stdout is."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.stream
    handler.stream = _CurrentStdout()

    def read() -> LambdaOutput:
        captured = capsys.readouterr()
        return LambdaOutput(captured.out + captured.err)

    yield read
    handler.stream = previous
