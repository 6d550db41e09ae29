"""Unit tests: no network at all (sockets off); AWS through moto's in-process mock."""

from collections.abc import Iterator

import pytest
from moto import mock_aws
from pytest_socket import disable_socket, enable_socket

from gateway import aws_clients, wiring
from gateway.config import cache_clear as config_cache_clear
from tests.support import create_tables


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, with the template's tables created in it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "TABLE_NAME": "messages",
        "POWERTOOLS_METRICS_NAMESPACE": "CarrierGateway",
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws_clients.reset()
    wiring.reset()
    config_cache_clear()
    with mock_aws():
        create_tables({"MessagesTable": "messages"})
        yield
    aws_clients.reset()
    wiring.reset()
    config_cache_clear()
