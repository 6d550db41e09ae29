"""Unit tests: no network at all (sockets off); AWS through moto's in-process mock."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket

from gateway.observability import logger
from tests.support import LogLines


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The gateway logger's JSON lines, as CloudWatch would get them from the function."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    handler.setStream(previous)
