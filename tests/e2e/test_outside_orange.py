"""The local stack against an Orange outside it (`cgw local --parameter-overrides
OrangeApiUrl=... --orange-credentials FILE`): here a simulator the stack did not start, with
client credentials only the test knows, standing for Orange's real API or a sandbox."""

import secrets
import uuid
from collections.abc import Iterator

import pytest

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.carrier_credentials import ClientCredentials
from infra.local.runtime.simulator_process import SimulatorProcess
from infra.local.stack import LocalStack
from infra.simulators.orange import OrangeSimulator
from tests.e2e.support import local_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def outside_orange() -> Iterator[tuple[SimulatorProcess[OrangeSimulator], ClientCredentials]]:
    credentials = ClientCredentials(
        client_id=f"outside-{secrets.token_hex(4)}", client_secret=secrets.token_urlsafe(24)
    )
    orange = SimulatorProcess(OrangeSimulator, "127.0.0.1", **credentials.model_dump())
    try:
        yield orange, credentials
    finally:
        orange.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    outside_orange: tuple[SimulatorProcess[OrangeSimulator], ClientCredentials],
) -> Iterator[LocalStack]:
    orange, credentials = outside_orange
    with local_stack(
        tmp_path_factory,
        "outside",
        parameter_overrides={"OrangeApiUrl": orange.url},
        orange_credentials={"default": credentials},
    ) as running:
        yield running


def test_an_sms_goes_to_the_outside_orange_with_the_credentials_given(
    stack: LocalStack, outside_orange: tuple[SimulatorProcess[OrangeSimulator], ClientCredentials]
) -> None:
    orange, _ = outside_orange
    assert "orange" not in stack.simulators  # the stack started no Orange of its own
    gateway = GatewayClient(from_local_dict(dict(stack.endpoints)))
    message_id = f"outside-{uuid.uuid4().hex[:8]}"
    gateway.send([{"id": message_id, "channel": "sms", "to": "+2250700000001", "text": "Hi"}])

    def delivered() -> bool:
        view = gateway.status(message_id)
        return view is not None and view["status"] == "delivered"

    wait_for(delivered, "the SMS delivered through the outside Orange")
    sent = [s for s in orange.simulator.sends() if s.text == "Hi"]
    assert len(sent) == 1
    assert orange.simulator.stats()["rejected_401"] == 0
