"""Orange Poland MMS: registered through the queue, then polled within the call limit."""

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cfnlint.decode import decode

from gateway.aws.locks import LeaseLock
from gateway.aws.message_store import MessageRepository
from gateway.core.carrier_errors import Unavailable
from gateway.core.model import utc_now
from gateway.core.retry import RetryPolicy
from gateway.core.sending import Result
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from gateway.orange.client import RateLimited, TokenRejected
from gateway.orange.tokens import TokenStore
from gateway.orange_pl.channel import OrangePlChannel
from gateway.orange_pl.client import CallLimit, reset_moment
from gateway.orange_pl.poller import (
    ROUND_EVERY,
    ROUND_MAX,
    StatusPoller,
    backoff,
    round_budget,
)
from infra.local.triggers.scheduler import nominal_interval
from tests.fakes import FakeOrange, MemorySecrets
from tests.pipeline import Pipeline
from tests.support import TEMPLATE

pytestmark = pytest.mark.usefixtures("aws")
PAST = "2000-01-01T00:00:00.000Z"


@dataclass
class FakeOrangePl:
    statuses: dict[str, list[str | Exception]] = field(default_factory=dict)
    available: int | None = None
    # By default the counter resets within this round: the whole allowance is this round's.
    resets: datetime | None = field(default_factory=lambda: datetime.now(UTC) + ROUND_EVERY / 2)
    limit_error: Exception | None = None
    polled: list[str] = field(default_factory=list)
    tokens_seen: list[str] = field(default_factory=list)

    def call_limit(self, token: str) -> CallLimit:
        self.tokens_seen.append(token)
        if self.limit_error:
            raise self.limit_error
        return CallLimit(used=len(self.polled), available=self.available, resets=self.resets)

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
            retry=RetryPolicy(),
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


def test_a_swept_mms_is_never_polled_again(world: PlWorld) -> None:
    """72 hours without a final status: the sweep ends it unknown, and its hourly polls end
    with it (they went on until the message's TTL, 180 days, spending the call limit)."""
    world.register("pl", "ref", "Success", "Success")
    world.poller.run_round()
    world.due("pl")
    message = world.repo.get("pl")
    assert message is not None
    assert message.final_by is not None
    assert world.tracker.sweep_overdue(utc_now(after=timedelta(hours=73))) == 1
    assert world.get("pl")[0] is Status.UNKNOWN
    assert world.poller.run_round().due == 0
    assert world.client.polled == ["ref"]


def test_the_limits_reset_date_is_read_as_the_end_of_that_day() -> None:
    assert reset_moment("Tue Jun 30 2026") == datetime(2026, 7, 1, tzinfo=UTC)
    assert reset_moment("soon") is None


def limit_of(available: int | None, resets: datetime | None) -> CallLimit:
    return CallLimit(used=0, available=available, resets=resets)


NOW = datetime(2026, 6, 1, tzinfo=UTC)


def budget(available: int | None, resets: datetime | None, seed: int = 1) -> int:
    rng = random.Random(seed)  # noqa: S311 - the same draws on every run
    return round_budget(limit_of(available, resets), NOW, rng)


def test_a_backlog_gets_only_its_rounds_share_of_the_allowance() -> None:
    """10,000 calls left, the counter resetting in 10 days (7,200 rounds of 2 minutes): a
    round may make one or two calls, not 200 (what it did, ignoring the reset date)."""
    assert {budget(10_000, NOW + timedelta(days=10), seed) for seed in range(50)} == {1, 2}
    assert budget(10_000, NOW + ROUND_EVERY) == ROUND_MAX
    assert budget(3, NOW + ROUND_EVERY) == 3  # the last round before the reset: all of it
    assert budget(None, NOW + timedelta(days=10)) == ROUND_MAX  # "unlimited"
    assert budget(0, NOW + timedelta(days=10)) == 0
    # An unreadable reset date: spread over a day (720 rounds).
    assert {budget(1_440, None, seed) for seed in range(50)} == {2}


@pytest.mark.parametrize("available", [30, 200, 1_000])
def test_the_allowance_is_spread_until_the_reset_and_all_of_it_usable(available: int) -> None:
    """Round after round, each spends its share of what is left: half the period spends
    about half the allowance, and the rounds up to the reset spend all of it."""
    rng = random.Random(7)  # noqa: S311 - the same draws on every run
    resets = NOW + timedelta(hours=6)  # 180 rounds
    left, now, spent = available, NOW, []
    while now < resets:
        rounds_left = math.ceil((resets - now) / ROUND_EVERY)
        spent.append(round_budget(limit_of(left, resets), now, rng))
        assert spent[-1] <= math.ceil(left / rounds_left)
        left -= spent[-1]
        now += ROUND_EVERY
    assert left == 0
    assert abs(sum(spent[:90]) - available / 2) <= 0.1 * available + 3


def test_a_round_polls_only_its_share_of_a_distant_allowance(world: PlWorld) -> None:
    for n in range(5):
        world.register(f"pl-{n}", f"ref-{n}", "Success")
    world.client.available = 100
    world.client.resets = datetime.now(UTC) + timedelta(days=30)  # 21,600 rounds
    report = world.poller.run_round()
    assert report.budget <= 1
    assert report.polled == report.budget


def test_the_rounds_counted_until_the_reset_are_the_templates_schedule() -> None:
    template, errors = decode(str(TEMPLATE))
    assert template is not None, errors
    events = template["Resources"]["MmsStatusPollerFunction"]["Properties"]["Events"]
    [schedule] = [event["Properties"]["Schedule"] for event in events.values()]
    assert nominal_interval(schedule) == ROUND_EVERY.total_seconds()
