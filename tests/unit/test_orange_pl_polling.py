"""Orange Poland MMS: registered through the queue, then polled within the call limit."""

from dataclasses import dataclass, field

import pytest

from gateway.aws.locks import LeaseLock
from gateway.aws.message_store import MessageRepository
from gateway.core.carrier_errors import Unavailable
from gateway.core.retry import RetryPolicy
from gateway.core.sending import Result
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from gateway.orange.client import RateLimited, TokenRejected
from gateway.orange.tokens import TokenStore
from gateway.orange_pl.channel import OrangePlChannel
from gateway.orange_pl.client import CallLimit
from gateway.orange_pl.poller import StatusPoller, backoff
from tests.fakes import FakeOrange, MemorySecrets
from tests.pipeline import Pipeline

pytestmark = pytest.mark.usefixtures("aws")
PAST = "2000-01-01T00:00:00.000Z"


@dataclass
class FakeOrangePl:
    statuses: dict[str, list[str | Exception]] = field(default_factory=dict)
    available: int | None = None
    limit_error: Exception | None = None
    polled: list[str] = field(default_factory=list)
    tokens_seen: list[str] = field(default_factory=list)

    def call_limit(self, token: str) -> CallLimit:
        self.tokens_seen.append(token)
        if self.limit_error:
            raise self.limit_error
        return CallLimit(used=len(self.polled), available=self.available, resets="Tue Jun 30 2026")

    def delivery_status(self, token: str, *, message_id: str) -> str:
        self.tokens_seen.append(token)
        step = self.statuses[message_id].pop(0)
        if isinstance(step, Exception):
            raise step
        self.polled.append(message_id)
        return step


class PlWorld:
    def __init__(self) -> None:
        self.repo = MessageRepository("messages")
        self.tracker = StatusTracker(self.repo)
        self.orange = FakeOrange()
        self.client = FakeOrangePl()
        secrets = MemorySecrets({"pl-creds": {"client_id": "id", "client_secret": "secret"}})
        self.pipeline = Pipeline(
            store=self.repo,
            tracker=self.tracker,
            channels={"orange-pl-mms": OrangePlChannel()},
            retry=RetryPolicy(3),
        )
        self.poller = StatusPoller(
            repository=self.repo,
            tracker=self.tracker,
            client=self.client,  # type: ignore[arg-type]
            tokens=TokenStore(
                token_secret="pl-token",
                credentials_secret="pl-creds",
                fetch=lambda c: self.orange.fetch_token(c.client_id, c.client_secret),
                lock=LeaseLock("messages", "token#orange-pl"),
                secrets=secrets,  # type: ignore[arg-type]
            ),
        )

    def register(self, message_id: str, ref: str, *script: str | Exception) -> None:
        body = {"id": message_id, "channel": "orange-pl-mms", "providerMessageId": ref}
        assert self.pipeline.deliver(body) is Result.SUBMITTED
        self.client.statuses[ref] = list(script)
        self.tracker.touch(message_id, next_poll_at=PAST)  # due now

    def due(self, message_id: str) -> None:
        self.tracker.touch(message_id, next_poll_at=PAST)

    def get(self, message_id: str) -> tuple[Status, str | None, str | None]:
        message = self.repo.get(message_id)
        assert message is not None
        return message.status, message.progress.provider_status, message.next_poll_at


@pytest.fixture
def world() -> PlWorld:
    return PlWorld()


def test_backoff_is_about_1_2_5_10_30_minutes_then_hourly() -> None:
    assert [int(backoff(n).total_seconds() // 60) for n in range(7)] == [1, 2, 5, 10, 30, 60, 60]


def test_a_registered_mms_is_polled_to_delivered_and_then_left_alone(world: PlWorld) -> None:
    world.register("pl-1", "b413dd22", "Success", "Retrieved")
    message = world.repo.get("pl-1")
    assert message is not None
    assert (message.channel, message.provider, message.provider_ref) == (
        "orange-pl-mms",
        "orange-pl",
        "b413dd22",
    )
    assert world.poller.run_round().polled == 1
    status, raw, next_poll = world.get("pl-1")
    assert (status, raw) == (Status.SENT, "Success")
    assert next_poll is not None
    assert next_poll > PAST
    assert world.poller.run_round().due == 0  # not due again yet
    world.due("pl-1")
    world.poller.run_round()
    status, raw, next_poll = world.get("pl-1")
    assert (status, raw, next_poll) == (Status.DELIVERED, "Retrieved", None)
    world.tracker.touch("pl-1", next_poll_at=PAST)
    assert world.poller.run_round().due == 0  # final: out of the index for good


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Rejected", Status.UNDELIVERED),
        ("Expired", Status.UNDELIVERED),
        ("Indeterminate", Status.UNKNOWN),
        ("Message ID Not found", Status.UNKNOWN),
        ("Address Not Found", Status.REJECTED),
        ("LinkedID not found", Status.REJECTED),
        ("Partial success", Status.SENT),
    ],
)
def test_statuses_map_as_designed(world: PlWorld, raw: str, status: Status) -> None:
    world.register("pl", "ref", raw)
    world.poller.run_round()
    assert world.get("pl")[:2] == (status, raw)


def test_a_server_error_changes_nothing_and_polls_again(world: PlWorld) -> None:
    world.register("pl", "ref", "Server Error")
    world.poller.run_round()
    status, raw, next_poll = world.get("pl")
    assert (status, raw) == (Status.SUBMITTED, None)
    assert next_poll is not None
    assert next_poll > PAST


def test_no_more_polls_than_the_limit_allows_oldest_first(world: PlWorld) -> None:
    for n in range(3):
        world.register(f"pl-{n}", f"ref-{n}", "Success")
        world.tracker.touch(f"pl-{n}", next_poll_at=f"2000-01-0{3 - n}T00:00:00.000Z")
    world.client.available = 2
    report = world.poller.run_round()
    assert (report.due, report.polled) == (2, 2)
    assert world.client.polled == ["ref-2", "ref-1"]


def test_the_limit_reached_ends_the_round(world: PlWorld) -> None:
    world.register("a", "ref-a", RateLimited("Orange 403 code 53"))
    world.register("b", "ref-b", "Success")
    report = world.poller.run_round()
    assert report.limit_reached
    assert world.client.polled == []


def test_an_expired_token_is_renewed_once(world: PlWorld) -> None:
    world.register("pl", "ref", TokenRejected("Orange 401 code 42"), "Retrieved")
    world.poller.run_round()
    assert world.get("pl")[0] is Status.DELIVERED
    assert world.orange.token_requests == 2
    assert world.client.tokens_seen[-1] == "token-2"


def test_an_unreachable_orange_pl_only_delays_the_poll(world: PlWorld) -> None:
    world.register("pl", "ref", Unavailable("Orange PL unreachable"))
    report = world.poller.run_round()
    assert report.errors == ["Orange PL unreachable"]
    status, _, next_poll = world.get("pl")
    assert status is Status.SUBMITTED
    assert next_poll is not None
    assert next_poll > PAST
