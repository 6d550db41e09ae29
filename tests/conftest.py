"""Every tier: the environment Lambda would give the functions before their modules import,
and moto in process for the tests that need AWS."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

# Before anything imports the gateway: Lambda sets these before the handler module loads,
# and powertools reads them when the module-level logger and metrics are built.
for name, value in {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_METRICS_NAMESPACE": "CarrierGateway",
    "POWERTOOLS_SERVICE_NAME": "tests",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(name, value)

# Property and fuzz tests draw the same examples on every run and keep no example database:
# CI time stays bounded and a failure in CI fails the same way on a developer's machine. Each
# test's own settings give its budget (max_examples). No deadline and no "too slow" check: the
# time an example takes on a loaded 2-core machine is no property of the code (figures are
# measured in `make bench`, never asserted in tests).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

from gateway import wiring  # noqa: E402 - after the environment above
from gateway.aws import clients as aws_clients  # noqa: E402
from gateway.config import cache_clear as config_cache_clear  # noqa: E402
from tests.support import create_tables  # noqa: E402


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, with the template's tables created in it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "TABLE_NAME": "messages",
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
