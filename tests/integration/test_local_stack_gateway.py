"""The local stack on the project's own template.yaml: its resources, its HTTP API (the receipt
route's SQS integration and route settings), the Orange simulator wired in (credentials, the
receipt subscription, loopback allowlist) and endpoints.json's keys."""

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gateway.orange.subscriptions import decode_refs
from infra.local.runtime.carriers import LOOPBACK_ALLOWLIST
from infra.local.stack import LocalStack, LocalStackOptions
from infra.local.template.functions import FunctionSpec, HttpApiEvent, Throttle
from infra.simulators.orange import OrangeSimulator

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def options(state_dir: Path) -> LocalStackOptions:
    return LocalStackOptions(
        template_path=TEMPLATE,
        api_port=0,
        aws_port=0,
        state_dir=state_dir,
        stack_name=f"gw-{uuid.uuid4().hex[:8]}",
        # Slow schedules: the start-up run is all these tests need.
        schedule_speedup=0.01,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("ORANGE_API_URL", raising=False)
        running = LocalStack(options(tmp_path_factory.mktemp("gateway")))
        running.start()
    try:
        yield running
    finally:
        running.stop()


def env_of(stack: LocalStack, variable: str) -> str:
    values = {f.environment[variable] for f in stack.functions if variable in f.environment}
    (value,) = values
    return value


def secret(stack: LocalStack, secret_id: str) -> str:
    return stack.clients.secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]


def test_endpoints_json_has_the_design_keys(stack: LocalStack) -> None:
    written = json.loads(stack.endpoints_path.read_text())

    assert {
        "api_url",
        "aws_endpoint_url",
        "region",
        "send_queue_url",
        "dlq_url",
        "table_name",
        "orange_api_url",
        "orange_dr_url",
        "orange_receipt_subscriptions",
        "logs_dir",
        "function_environments",
    } <= written.keys()


def test_send_queue_redrives_to_its_dead_letter_queue(stack: LocalStack) -> None:
    client = stack.clients.sqs()
    send = client.get_queue_attributes(
        QueueUrl=stack.endpoints["send_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    dead = client.get_queue_attributes(
        QueueUrl=stack.endpoints["dlq_url"], AttributeNames=["QueueArn"]
    )["Attributes"]

    assert json.loads(send["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead["QueueArn"],
        "maxReceiveCount": 5,
    }


def test_functions_point_at_the_orange_simulator(stack: LocalStack) -> None:
    simulator = stack.simulators["orange"]

    assert simulator.kind is OrangeSimulator
    assert set(stack.simulators) == {"orange", "orange-pl", "mm7"}
    assert stack.endpoints["orange_api_url"] == simulator.url
    assert env_of(stack, "ORANGE_API_URL") == simulator.url
    assert env_of(stack, "RECEIPT_ALLOWLIST") == LOOPBACK_ALLOWLIST


def test_simulator_credentials_are_in_the_credentials_secret(stack: LocalStack) -> None:
    credentials = json.loads(secret(stack, env_of(stack, "ORANGE_CREDENTIALS_SECRET")))

    assert set(credentials) == {"client_id", "client_secret"}
    assert all(credentials.values())


def test_receipt_url_carries_the_token_secret(stack: LocalStack) -> None:
    token = secret(stack, env_of(stack, "RECEIPT_TOKEN_SECRET"))

    assert len(token) == 40
    assert (
        stack.endpoints["orange_dr_url"]
        == f"{stack.endpoints['api_url']}/callbacks/orange/dr/{token}"
    )


def test_the_receipt_url_is_subscribed_through_the_custom_resource(stack: LocalStack) -> None:
    """As on AWS: the template's Custom::OrangeReceiptSubscription registered the receipt URL
    with Orange at start-up, and its physical id names that subscription."""
    [ref] = decode_refs(stack.endpoints["orange_receipt_subscriptions"])
    [subscription] = stack.simulator(OrangeSimulator).subscriptions()

    assert (ref.account, subscription.subscription_id) == ("default", ref.subscription_id)
    assert subscription.sender == f"+{ref.sender_number}"
    assert subscription.notify_url == stack.endpoints["orange_dr_url"]
    assert subscription.active
    log = (stack.logs_dir / "OrangeSubscriptionFunction.log").read_text()
    assert "custom resource answer" in log
    assert stack.endpoints["orange_dr_url"].rsplit("/", 1)[1] not in log


def test_a_receipt_goes_straight_onto_the_receipt_queue(stack: LocalStack) -> None:
    """As API Gateway's SQS-SendMessage integration puts it there: Orange's body as it came,
    the URL's token and the caller's address as message attributes."""
    sqs = stack.clients.sqs()
    queue = sqs.get_queue_url(QueueName=f"{stack.options.stack_name}-ReceiptQueue")["QueueUrl"]
    token = secret(stack, env_of(stack, "RECEIPT_TOKEN_SECRET"))
    receipt = {"deliveryInfoNotification": {"deliveryInfo": {"address": "tel:+2250700000001"}}}
    with stack.queue_sources_disabled("OrangeReceiptsFunction"):
        time.sleep(1.5)  # a long poll under way when the source was disabled has ended
        response = requests.post(stack.endpoints["orange_dr_url"], json=receipt, timeout=10)
        messages = sqs.receive_message(
            QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )["Messages"]
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    assert response.status_code == 200
    assert "SendMessageResponse" in response.json()
    (message,) = messages
    assert json.loads(message["Body"]) == receipt
    attributes = {name: a["StringValue"] for name, a in message["MessageAttributes"].items()}
    assert attributes == {"token": token, "sourceIp": "127.0.0.1"}


def test_the_apis_routes_have_the_templates_throttles(stack: LocalStack) -> None:
    events = [e for f in stack.functions for e in f.events if isinstance(e, HttpApiEvent)]
    api = events[0].api

    assert {e.route_key for e in events} >= {"POST /callbacks/mm7", "GET /messages/{id}"}
    assert {e.api.logical_id for e in events} == {"Api"}
    assert api.throttle("GET /messages/{id}") == Throttle(rate_limit=100.0, burst_limit=200)
    assert api.throttle("POST /callbacks/orange/dr/{token}") == Throttle(1000.0, 2000)
    assert [r.route_key for r in api.sqs_routes] == ["POST /callbacks/orange/dr/{token}"]
    not_found = requests.get(f"{stack.endpoints['api_url']}/callbacks/mm7", timeout=10)
    assert (not_found.status_code, not_found.json()) == (404, {"message": "Not Found"})


def test_functions_run_from_their_folders_with_the_common_layer(stack: LocalStack) -> None:
    functions: dict[str, FunctionSpec] = {f.logical_id: f for f in stack.functions}
    root = TEMPLATE.parent

    assert functions["SenderFunction"].code_dir == root / "functions" / "sender"
    assert all(f.layer_dirs == (root / "layers" / "common",) for f in functions.values())


def test_an_outside_orange_url_starts_no_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORANGE_API_URL", "http://127.0.0.1:9")

    with LocalStack(options(tmp_path)) as outside:
        assert "orange" not in outside.simulators
        # No simulator put credentials in the secret: nothing could be registered.
        assert outside.endpoints["orange_receipt_subscriptions"] == "orange-receipts:none"
        assert outside.endpoints["orange_api_url"] == "http://127.0.0.1:9"
        assert env_of(outside, "ORANGE_API_URL") == "http://127.0.0.1:9"
        assert env_of(outside, "RECEIPT_ALLOWLIST") == LOOPBACK_ALLOWLIST
