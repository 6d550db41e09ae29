"""The sender against the Orange simulator over real HTTP (AWS in moto): the seeds' wire
format, the 5/s cap, token expiry, rejections and faults, each as Orange would answer."""

import json
from collections.abc import Iterator

import boto3
import pytest

from gateway import wiring
from gateway.core.sending import Result
from gateway.core.status import Status
from infra.simulators.orange import FaultPlan, OrangeSimulator
from tests.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws")]


PIPELINE: list[Pipeline] = []


@pytest.fixture
def orange(monkeypatch: pytest.MonkeyPatch) -> Iterator[OrangeSimulator]:
    simulator = OrangeSimulator(client_id="cid", client_secret="csecret", receipt_delay=60)
    simulator.start()
    secrets = boto3.client("secretsmanager")
    credentials = secrets.create_secret(
        Name="creds", SecretString=json.dumps({"client_id": "cid", "client_secret": "csecret"})
    )["ARN"]
    token = secrets.create_secret(Name="token", SecretString="{}")["ARN"]
    for name, value in {
        "ORANGE_API_URL": simulator.url,
        "ORANGE_CREDENTIALS_SECRET": credentials,
        "ORANGE_TOKEN_SECRET": token,
        "SEND_QUEUE_URL": "unused",
    }.items():
        monkeypatch.setenv(name, value)
    PIPELINE.clear()  # built on first use, from this test's wiring
    yield simulator
    simulator.stop()


def deliver(body: dict[str, object]) -> Result:
    """The intake, then the lane's dispatcher at once, as the functions run them."""
    if not PIPELINE:
        PIPELINE.append(
            Pipeline(store=wiring.repository(), sender=wiring.sender(), tracker=wiring.tracker())
        )
    return PIPELINE[0].deliver({"channel": "sms", "text": "Hello!", **body})


def retry_due() -> dict[str, Result]:
    return PIPELINE[0].retry_due("orange-sms:default").outcomes


def status(message_id: str) -> Status:
    message = wiring.repository().get(message_id)
    assert message is not None
    return message.status


def test_sms_reach_orange_as_the_seed_shows(orange: OrangeSimulator) -> None:
    assert (
        deliver({"id": "a", "to": "+2250700000001", "senderName": "MonService"}) is Result.SUBMITTED
    )
    assert deliver({"id": "b", "to": "+221771234567", "onNet": True}) is Result.SUBMITTED
    sends = orange.sends()
    assert [(s.sender, s.recipient, s.sender_name, s.on_net) for s in sends] == [
        ("+2250000", "+2250700000001", "MonService", False),
        ("+2210000", "+221771234567", None, True),
    ]
    message = wiring.repository().get("a")
    assert message is not None
    assert message.provider_ref == sends[0].resource_id


def test_a_burst_stays_under_five_per_second_with_one_token(orange: OrangeSimulator) -> None:
    for i in range(15):
        assert deliver({"id": f"m{i}", "to": f"+22507000001{i:02d}"}) is Result.SUBMITTED
    stats = orange.stats()
    assert stats["sends"] == 15
    assert stats["rejected_53"] == 0
    assert stats["token_requests"] == 1


def test_an_expired_token_costs_one_token_request(orange: OrangeSimulator) -> None:
    deliver({"id": "before", "to": "+2250700000001"})
    orange.expire_tokens()
    for i in range(3):
        assert deliver({"id": f"after{i}", "to": "+2250700000002"}) is Result.SUBMITTED
    assert orange.stats()["token_requests"] == 2
    assert orange.stats()["rejected_401"] == 1


def test_an_unapproved_sender_name_is_rejected_with_orange_s_reason(
    orange: OrangeSimulator,
) -> None:
    assert deliver({"id": "x", "to": "+2250700000001", "senderName": "Nope"}) is Result.REJECTED
    message = wiring.repository().get("x")
    assert message is not None
    assert message.status is Status.REJECTED
    assert "senderName" in (message.progress.reason or "")


def test_a_service_unavailable_answer_is_retried_and_sent_once(orange: OrangeSimulator) -> None:
    orange.set_faults(FaultPlan(http_503=1.0))
    assert deliver({"id": "y", "to": "+2250700000001"}) is Result.LATER
    assert status("y") is Status.ACCEPTED
    assert orange.stats()["sends"] == 0
    orange.set_faults(None)
    assert retry_due() == {"y": Result.SUBMITTED}
    assert orange.stats()["sends"] == 1


@pytest.mark.parametrize(
    ("plan", "sends"),
    [(FaultPlan(http_504=1.0), 1), (FaultPlan(http_500=1.0), 0)],
    ids=["504-after-the-send", "500-before-it"],
)
def test_a_server_error_that_may_follow_the_send_is_never_resent(
    orange: OrangeSimulator, plan: FaultPlan, sends: int
) -> None:
    orange.set_faults(plan)
    assert deliver({"id": "g", "to": "+2250700000001"}) is Result.UNKNOWN
    orange.set_faults(None)
    assert deliver({"id": "g", "to": "+2250700000001"}) is Result.DUPLICATE
    assert retry_due() == {}
    message = wiring.repository().get("g")
    assert message is not None
    assert message.status is Status.UNKNOWN
    assert "may have taken it" in (message.progress.reason or "")
    # The simulator's 504 came after it took the SMS, its 500 before: neither sent again.
    assert orange.stats()["sends"] == sends
    assert orange.stats()["duplicate_sends"] == 0


def test_a_lost_answer_is_never_resent(orange: OrangeSimulator) -> None:
    orange.set_faults(FaultPlan(reset=1.0))
    assert deliver({"id": "z", "to": "+2250700000001"}) is Result.UNKNOWN
    orange.set_faults(None)
    assert deliver({"id": "z", "to": "+2250700000001"}) is Result.DUPLICATE
    assert retry_due() == {}
    assert status("z") is Status.UNKNOWN
