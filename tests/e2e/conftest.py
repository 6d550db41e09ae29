"""Fixtures every end-to-end module shares. Each module starts its own local stack as its
`stack` fixture; these build on whichever `stack` the requesting module has."""

from collections.abc import Iterator

import pytest

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack
from infra.simulators.orange import OrangeSimulator


@pytest.fixture(scope="module")
def gateway(stack: LocalStack) -> GatewayClient:
    return GatewayClient(from_local_dict(dict(stack.endpoints)))


@pytest.fixture
def orange(stack: LocalStack) -> Iterator[OrangeSimulator]:
    """The stack's Orange simulator, its faults cleared after each test."""
    simulator = stack.simulator(OrangeSimulator)
    yield simulator
    simulator.set_faults(None)
