"""An MMS sent through Orange Poland, registered on the queue and polled to `delivered` by the
scheduled poller against the Orange PL simulator."""

import time
import uuid
from collections.abc import Iterator

import pytest

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack
from infra.simulators.orange_pl import OrangePlSimulator
from tests.e2e.support import local_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(tmp_path_factory, "pl") as running:
        yield running


def make_due(stack: LocalStack, message_id: str) -> None:
    """Skip the poll backoff (minutes) by moving the next poll into the past."""
    stack.clients.dynamodb().update_item(
        TableName=stack.endpoints["table_name"],
        Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}},
        UpdateExpression="SET nextPollAt = :past",
        ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00.000Z"}},
    )


def test_an_orange_pl_mms_is_polled_to_delivered(stack: LocalStack) -> None:
    gateway = GatewayClient(from_local_dict(dict(stack.endpoints)))
    message_id = f"pl-{uuid.uuid4().hex[:8]}"
    gateway.send(
        [
            {
                "id": message_id,
                "channel": "orange-pl-mms",
                "providerMessageId": f"retrieved-{message_id}",
            }
        ]
    )
    deadline = time.monotonic() + 30
    while (view := gateway.status(message_id)) is None or view["status"] != "submitted":
        assert time.monotonic() < deadline, "the registration never landed"
        time.sleep(0.25)
    for expected in ("sent", "delivered"):
        make_due(stack, message_id)
        stack.run_schedule("MmsStatusPollerFunction")
        view = gateway.status(message_id)
        assert view is not None
        assert view["status"] == expected
    assert view["providerStatus"] == "Retrieved"
    assert view["providerMessageId"] == f"retrieved-{message_id}"
    stats = stack.simulator(OrangePlSimulator).stats()
    assert stats["status_calls"] >= 2
    # One token for the account, whoever fetched it first (refresher or poller): reused.
    assert stats["token_requests"] == 1
