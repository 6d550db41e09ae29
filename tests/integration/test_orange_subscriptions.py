"""The receipt subscription against the Orange simulator over real HTTP (AWS in moto): the
gateway's registration, what Orange then does with receipts, and the custom resource's
handler answering a CloudFormation request at a loopback ResponseURL."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from werkzeug.wrappers import Request, Response

from functions.orange_subscription import app
from gateway import wiring
from gateway.orange.config import orange_config
from gateway.orange.subscriptions import (
    OrangeSubscriptionsApi,
    ReceiptSubscriptions,
    decode_refs,
)
from infra.simulators.orange import OrangeSimulator
from tests.integration.simulator_support import TIMEOUT, Endpoint, running
from tests.support import FakeLambdaContext, event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws")]

RECEIPT_TOKEN = "t0k3n-" + "x" * 34
# The function's own timeout: the work gets it all but the time kept to answer.
LAMBDA_CONTEXT = FakeLambdaContext(remaining_ms=120_000)


class Recorder(Endpoint):
    """Records every request: receipts (POST) and CloudFormation answers (PUT)."""

    def __init__(self, path: str) -> None:
        super().__init__(name="test-recorder", path=path)
        self.seen: list[tuple[str, str, bytes]] = []  # method, content type, body

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.seen.append(
                (request.method, request.headers.get("Content-Type", ""), request.get_data())
            )
        return Response("OK", status=200)

    def bodies(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for m, _, body in self.seen if m == method]


@pytest.fixture
def orange(monkeypatch: pytest.MonkeyPatch) -> Iterator[OrangeSimulator]:
    """The simulator with two accounts, and the subscription function's environment."""
    simulator = OrangeSimulator(client_id="cid", client_secret="csecret", receipt_delay=0.05)
    simulator.add_client("mali-cid", "mali-csecret")
    simulator.start()
    secrets = boto3.client("secretsmanager")

    def secret(name: str, value: object) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return secrets.create_secret(Name=name, SecretString=text)["ARN"]

    secret("gw/orange/mali/credentials", {"client_id": "mali-cid", "client_secret": "mali-csecret"})
    for name, value in {
        "ORANGE_API_URL": simulator.url,
        "ORANGE_CREDENTIALS_SECRET": secret(
            "creds", {"client_id": "cid", "client_secret": "csecret"}
        ),
        "ORANGE_TOKEN_SECRET": secret("token", {}),
        "ORANGE_SECRETS_PREFIX": "gw/orange",
        "ORANGE_COUNTRY_ACCOUNTS": "MLI=mali",
        "RECEIPT_TOKEN_SECRET": secret("receipt-token", RECEIPT_TOKEN),
    }.items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.stop()


@pytest.fixture
def receipts() -> Iterator[Recorder]:
    with running(Recorder("/callbacks/orange/dr/" + RECEIPT_TOKEN)) as recorder:
        yield recorder


def subscriptions() -> ReceiptSubscriptions:
    config = orange_config()
    return ReceiptSubscriptions(
        api=OrangeSubscriptionsApi(config.api_url), tokens=wiring.token_store, config=config
    )


def send_as(orange: OrangeSimulator, client: tuple[str, str], sender: str, to: str) -> None:
    token = requests.post(
        f"{orange.url}/oauth/v3/token",
        auth=client,
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    ).json()["access_token"]
    body = {
        "outboundSMSMessageRequest": {
            "address": f"tel:+{to}",
            "senderAddress": f"tel:+{sender}",
            "outboundSMSTextMessage": {"message": "Hello!"},
        }
    }
    sent = requests.post(
        f"{orange.url}/smsmessaging/v1/outbound/tel%3A%2B{sender}/requests",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert sent.status_code == 201


def test_registered_accounts_get_their_receipts_at_the_gateways_url(
    orange: OrangeSimulator, receipts: Recorder
) -> None:
    registration = subscriptions().register(receipts.url)

    assert [(r.account, r.sender_number) for r in registration.refs] == [
        ("default", "2670000"),
        ("mali", "2230000"),
    ]
    recorded = {
        (s.subscription_id, s.sender, s.notify_url, s.active) for s in orange.subscriptions()
    }
    assert recorded == {
        (ref.subscription_id, f"+{ref.sender_number}", receipts.url, True)
        for ref in registration.refs
    }
    send_as(orange, ("cid", "csecret"), "2250000", "22507000099")
    send_as(orange, ("mali-cid", "mali-csecret"), "2230000", "22370000099")
    assert orange.wait_for_receipts(TIMEOUT)
    addresses = {
        body["deliveryInfoNotification"]["deliveryInfo"]["address"]
        for body in receipts.bodies("POST")
    }
    assert addresses == {"tel:+22507000099", "tel:+22370000099"}


def test_show_then_delete_then_gone(orange: OrangeSimulator, receipts: Recorder) -> None:
    gateway = subscriptions()
    [default, mali] = gateway.register(receipts.url).refs

    assert gateway.show(mali) == receipts.url
    orange.expire_tokens()  # a refused token is renewed once, transparently
    removal = gateway.delete([default, mali])
    assert (removal.deleted, removal.gone, removal.failed) == ([default, mali], [], {})
    assert orange.subscriptions() == []
    assert gateway.delete([default]).gone == [default]
    assert gateway.show(default) is None

    send_as(orange, ("cid", "csecret"), "2250000", "22507000099")
    assert orange.wait_for_receipts(TIMEOUT)
    assert receipts.bodies("POST") == []  # no subscription, no receipts


def test_the_handler_answers_cloudformation_and_registers_the_receipt_url(
    orange: OrangeSimulator,
) -> None:
    api_url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
    with running(Recorder("/presigned-answer")) as cloudformation:
        create = event(
            "cfn_orange_subscription.json",
            ResponseURL=cloudformation.url,
            ResourceProperties={"ApiUrl": api_url},
        )
        assert app.handler(create, LAMBDA_CONTEXT)["status"] == "SUCCESS"
        [answer] = cloudformation.bodies("PUT")
        refs = decode_refs(answer["PhysicalResourceId"])
        notify_urls = {s.notify_url for s in orange.subscriptions()}

        delete = {
            **create,
            "RequestType": "Delete",
            "PhysicalResourceId": answer["PhysicalResourceId"],
        }
        assert app.handler(delete, LAMBDA_CONTEXT)["status"] == "SUCCESS"
        content_types = [content_type for _, content_type, _ in cloudformation.seen]

    assert answer["Status"] == "SUCCESS"
    assert [r.account for r in refs] == ["default", "mali"]
    assert notify_urls == {f"{api_url}/callbacks/orange/dr/{RECEIPT_TOKEN}"}
    assert content_types == ["", ""]
    assert orange.subscriptions() == []
