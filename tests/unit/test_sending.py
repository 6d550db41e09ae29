"""The sender's rules, on the in-memory message store, a scripted Orange and, for the rate
limiter, token lock and balance snapshots, moto's DynamoDB."""

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.aws.balance_store import BalanceRepository
from gateway.aws.locks import LeaseLock
from gateway.aws.ratelimit import COUNTER_SK, SlotCounter, SlotRateLimiter
from gateway.core.carrier_errors import OutOfTime
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now
from gateway.core.pacing import ArrivalPacer, Sent
from gateway.core.retry import RetryPolicy
from gateway.core.send_request import parse_send_request
from gateway.core.sending import Prepared, Result
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from gateway.orange.client import (
    AccountBlocked,
    OutboundSms,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TokenRejected,
    Unavailable,
)
from gateway.orange.config import OrangeConfig
from gateway.orange.countries import orange_country
from gateway.orange.holds import CACHE_SECONDS, AccountHolds
from gateway.orange.sms_channel import CALL_SECONDS, OrangeSmsChannel, Route
from gateway.orange.statuses import normalise_orange_sms
from gateway.orange.tokens import TokenStore
from tests.fakes import FakeOrange, MemoryMessageStore, MemorySecrets
from tests.pipeline import Pipeline

pytestmark = pytest.mark.usefixtures("aws")


class RecordingPacer(ArrivalPacer):
    """Keeps the cost of every request it let go."""

    def __init__(self) -> None:
        super().__init__(1000)
        self.costs: list[int] = []

    def go(self, cost: int = 1, max_wait: float | None = None) -> Sent:
        self.costs.append(cost)
        return super().go(cost, max_wait)


class World:
    def __init__(self, orange: FakeOrange, **settings: str) -> None:
        self.orange = orange
        self.repo = MemoryMessageStore()
        self.balances = BalanceRepository("messages")
        self.clock = 0.0  # the holds' cache clock
        self.now = 0.0  # the channel's clock: what is left of the invocation
        self.pacer = RecordingPacer()
        self.tracker = StatusTracker(self.repo)
        creds = {"client_id": "id", "client_secret": "secret"}
        self.secrets = MemorySecrets({"creds": creds, "cgw/orange/mali/credentials": creds})
        self.config = OrangeConfig.model_validate(
            {
                "ORANGE_API_URL": "https://orange.invalid",
                "ORANGE_CREDENTIALS_SECRET": "creds",
                "ORANGE_TOKEN_SECRET": "token",
                "ORANGE_SECRETS_PREFIX": "cgw/orange",
                "ORANGE_SENDER_NUMBERS": "SEN=221999",
                "ORANGE_COUNTRY_ACCOUNTS": "MLI=mali",
                **settings,
            }
        )
        sms = OrangeSmsChannel(
            client=orange,  # type: ignore[arg-type]
            tokens=self.tokens,
            limiters=lambda account: SlotRateLimiter("messages", account, 1000.0),
            pacers=lambda account: self.pacer,
            holds=AccountHolds(self.balances, clock=lambda: self.clock),
            config=self.config,
            clock=lambda: self.now,
        )
        self.sms = sms
        self.pipeline = Pipeline(
            store=self.repo,
            tracker=self.tracker,
            channels={"sms": sms},
            retry=RetryPolicy(),
        )
        self.sender = self.pipeline.sender

    def tokens(self, account: str) -> TokenStore:
        settings = self.config.account(account)
        return TokenStore(
            token_secret=settings.token_secret,
            credentials_secret=settings.credentials_secret,
            fetch=lambda c: self.orange.fetch_token(c.client_id, c.client_secret),
            lock=LeaseLock("messages", f"token#{account}"),
            secrets=self.secrets,  # type: ignore[arg-type]
        )

    def deliver(
        self, body: dict[str, Any] | str, *, sqs_id: str = "q-1", queued_at: str | None = None
    ) -> Result:
        return self.pipeline.deliver(body, sqs_id=sqs_id, queued_at=queued_at)

    def status(self, message_id: str) -> Status:
        message = self.repo.get(message_id)
        assert message is not None
        return message.status


LANE = "orange-sms:default"


def sms(**fields: Any) -> dict[str, Any]:
    return {"id": "m-1", "channel": "sms", "to": "+2250700000001", "text": "Hello!", **fields}


@pytest.fixture
def world() -> World:
    return World(FakeOrange())


def recent_units(account: str) -> tuple[int, ...]:
    """The units the account's rate counter keeps for its latest slots, oldest first."""
    limiter = SlotRateLimiter("messages", account, 1000.0)
    item = limiter._client.get_item(
        TableName="messages", Key={"pk": {"S": f"RATE#{account}"}, "sk": {"S": COUNTER_SK}}
    )["Item"]
    return SlotCounter.from_item(item, limiter.span).recent


def test_an_sms_takes_its_segments_of_a_rate_billed_per_segment_and_one_else() -> None:
    world = World(FakeOrange(), ORANGE_SEGMENT_BILLED_ACCOUNTS="default")
    two_parts = "x" * 200

    assert world.deliver(sms(text=two_parts)) is Result.SUBMITTED
    assert world.deliver(sms(id="m-2", to="+22370000001", text=two_parts)) is Result.SUBMITTED

    assert world.pacer.costs == [2, 1]  # Mali's account counts requests
    assert recent_units("default")[-1] == 2  # one slot, two units: not three slots
    assert recent_units("mali")[-1] == 1


def test_a_valid_sms_is_sent_exactly_as_the_seed_shows(world: World) -> None:
    assert world.deliver(sms(senderName="MonService", onNet=True)) is Result.SUBMITTED
    [(token, out)] = world.orange.sent
    assert token == "token-1"
    assert out.path() == "/smsmessaging/v1/outbound/tel%3A%2B2250000/requests"
    assert out.body() == {
        "outboundSMSMessageRequest": {
            "address": "tel:+2250700000001",
            "senderAddress": "tel:+2250000",
            "senderName": "MonService",
            "outboundSMSTextMessage": {"message": "Hello!"},
        }
    }
    assert out.on_net
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.SUBMITTED
    assert message.provider_ref == "res-1"
    assert message.country == "CIV"
    assert message.segments == 1
    assert [h["status"] for h in message.progress.history] == ["accepted", "submitted"]
    assert world.repo.message_id_for_ref("orange", "res-1") == "m-1"


def test_the_sender_number_follows_the_per_country_override(world: World) -> None:
    world.deliver(sms(to="+221771234567"))
    assert world.orange.sent[0][1].sender_number == "221999"


def test_each_country_goes_through_its_own_account(world: World) -> None:
    world.deliver(sms(id="civ", to="+2250700000001"))
    world.deliver(sms(id="mli", to="+22370000001"))
    assert [token for token, _ in world.orange.sent] == ["token-1", "token-2"]
    assert world.secrets.values["cgw/orange/mali/token"]["access_token"] == "token-2"
    message = world.repo.get("mli")
    assert message is not None
    assert (message.account, message.country) == ("mali", "MLI")


def test_the_same_id_twice_sends_once(world: World) -> None:
    assert world.deliver(sms()) is Result.SUBMITTED
    assert world.deliver(sms(), sqs_id="q-2") is Result.DUPLICATE
    assert world.deliver(sms()) is Result.DUPLICATE  # the same SQS message delivered again
    assert len(world.orange.sent) == 1


def test_without_an_id_the_sqs_message_id_is_the_key(world: World) -> None:
    body = sms()
    del body["id"]
    assert world.deliver(body, sqs_id="abc") is Result.SUBMITTED
    assert world.deliver(body, sqs_id="abc") is Result.DUPLICATE
    assert world.status("sqs-abc") is Status.SUBMITTED


def test_an_invalid_request_ends_failed_with_its_reason_and_is_not_retried(world: World) -> None:
    assert world.deliver(sms(colour="red")) is Result.FAILED
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.FAILED
    assert message.progress.reason == "invalid request: colour: unknown field"
    assert world.orange.sent == []


def test_a_country_orange_does_not_serve_fails(world: World) -> None:
    assert world.deliver(sms(to="+33612345678")) is Result.FAILED
    assert "FR" in (world.repo.get("m-1").progress.reason or "")  # type: ignore[union-attr]


def test_a_carrier_rejection_ends_rejected_without_retry(world: World) -> None:
    world.orange.script = [Rejected("Orange 400 SVC0002: Invalid input value for senderName")]
    assert world.deliver(sms(senderName="Unknown")) is Result.REJECTED
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.REJECTED
    assert "SVC0002" in (message.progress.reason or "")


def test_an_expired_token_is_renewed_once_and_the_message_goes_on(world: World) -> None:
    world.deliver(sms(id="warm"))  # stores token-1
    world.orange.script = [TokenRejected("Orange 401 code 42: Expired credentials")]
    assert world.deliver(sms()) is Result.SUBMITTED
    assert world.orange.token_requests == 2
    assert world.orange.sent[-1][0] == "token-2"


def test_rate_limited_answers_wait_and_do_not_count_as_attempts(world: World) -> None:
    world.orange.script = [RateLimited("Orange 403 code 53"), RateLimited("Orange 403 code 53")]
    assert world.deliver(sms()) is Result.SUBMITTED
    message = world.repo.get("m-1")
    assert message is not None
    assert message.attempts == 1


def test_the_pacer_hears_of_every_call_and_of_which_orange_did_not_count(world: World) -> None:
    world.orange.script = [RateLimited("Orange 403 code 53"), Unavailable("Orange 503")]
    world.deliver(sms())
    world.deliver(sms(id="m-2"))
    calls = list(world.pacer._sent)  # what the pacer recorded
    assert [(c.answered_at is not None, c.counted) for c in calls] == [
        (True, False),  # 403 code 53: not counted by Orange
        (True, True),  # the retry, accepted
        (True, True),  # a 503 may have been counted: assumed so
    ]


def test_an_outage_of_many_attempts_only_delays_the_message(world: World) -> None:
    """Retried by time, not by count: ten failed attempts in a row (about 20 minutes of
    backoff), then Orange is back and the message goes."""
    world.orange.script = [Unavailable("Orange 503")] * 10
    assert world.deliver(sms()) is Result.LATER
    assert world.status("m-1") is Status.ACCEPTED
    # Backing off: waiting in its lane, due in about 10 s, not before.
    [((due, _), _entry)] = world.pipeline.queue.later_entries[LANE].items()  # type: ignore[attr-defined]
    assert 7 <= (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds() <= 12
    assert world.pipeline.dispatch(LANE).outcomes == {}
    for _ in range(9):
        assert world.pipeline.retry_due(LANE).outcomes == {"m-1": Result.LATER}
    assert world.pipeline.retry_due(LANE).outcomes == {"m-1": Result.SUBMITTED}
    message = world.repo.get("m-1")
    assert message is not None
    assert (message.status, message.attempts) == (Status.SUBMITTED, 11)
    assert len(world.orange.sent) == 1


def test_an_outage_longer_than_the_longest_wait_ends_the_message_expired(world: World) -> None:
    world.orange.script = [Unavailable("Orange 503")] * 2
    assert world.deliver(sms()) is Result.LATER
    before = world.repo.get("m-1")
    assert before is not None
    two_days_ago = utc_now(after=timedelta(days=-2))
    world.repo.save(before, replace(before, created_at=two_days_ago))
    assert world.pipeline.retry_due(LANE).outcomes == {"m-1": Result.EXPIRED}
    message = world.repo.get("m-1")
    assert message is not None
    assert message.progress.reason == (
        "not handed to the carrier within the longest wait allowed (24 h) (last: Orange 503)"
    )
    assert message.send_started_at is None
    assert world.orange.sent == []


def held_for(world: World) -> float:
    """How long the message waits in its lane before it is tried again."""
    [(due, _)] = world.pipeline.queue.later_entries[LANE]  # type: ignore[attr-defined]
    return (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds()


def test_a_held_account_postpones_without_failing(world: World) -> None:
    world.orange.script = [AccountBlocked("Orange 403 POL0001: Expired contract")] * 6
    assert world.deliver(sms()) is Result.LATER
    assert 890 <= held_for(world) <= 900
    for _ in range(5):  # more holds than attempts: a hold uses none
        assert world.pipeline.retry_due(LANE).outcomes == {"m-1": Result.LATER}
    message = world.repo.get("m-1")
    assert message is not None
    assert (message.status, message.attempts, message.send_started_at) == (
        Status.ACCEPTED,
        0,
        None,
    )


TAKEN = "2026-11-22T05:00:00Z"


def snapshot(world: World, **values: object) -> None:
    base = {"units": 500, "status": "ACTIVE", "expires": "2099-01-01T00:00:00Z"}
    world.balances.put_snapshot("default", "CIV", "SMS_OCB", TAKEN, {**base, **values})


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"units": 0}, "no units left in the bundle"),
        ({"status": "EXPIRED"}, "contract expired"),
        ({"expires": "2020-01-01T00:00:00Z"}, "contract expired on 2020-01-01T00:00:00Z"),
    ],
)
def test_an_account_the_balance_snapshot_shows_empty_or_expired_is_held_without_a_call(
    world: World, values: dict[str, object], reason: str
) -> None:
    snapshot(world, **values)
    assert world.deliver(sms()) is Result.LATER
    assert 890 <= held_for(world) <= 900
    message = world.repo.get("m-1")
    assert message is not None
    assert message.progress.history[-1]["reason"].startswith(reason)
    assert world.orange.sent == []
    assert world.status("m-1") is Status.ACCEPTED
    # Another country of the same account is not held.
    assert world.deliver(sms(id="sen", to="+221771234567")) is Result.SUBMITTED


def test_the_channel_holds_an_on_net_send_by_the_on_net_bundle_only(world: World) -> None:
    base = {"status": "ACTIVE", "expires": "2099-01-01T00:00:00Z"}
    world.balances.put_snapshot("default", "CIV", "SMS_OCB", TAKEN, {"units": 500, **base})
    world.balances.put_snapshot("default", "CIV", "SMS_OCB2", TAKEN, {"units": 0, **base})
    assert world.deliver(sms(id="standard")) is Result.SUBMITTED
    assert world.deliver(sms(id="on-net", onNet=True)) is Result.LATER


def test_a_new_snapshot_with_units_releases_the_held_sends(world: World) -> None:
    snapshot(world, units=0)
    assert world.deliver(sms()) is Result.LATER
    snapshot(world, units=1000)  # a bundle was bought
    world.clock += CACHE_SECONDS
    assert world.pipeline.retry_due(LANE).outcomes == {"m-1": Result.SUBMITTED}
    assert len(world.orange.sent) == 1


def test_no_answer_from_orange_is_never_resent(world: World) -> None:
    world.orange.script = [OutcomeUnknown("no answer from Orange: ReadTimeout")]
    assert world.deliver(sms()) is Result.UNKNOWN
    assert world.deliver(sms()) is Result.DUPLICATE
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.UNKNOWN
    assert (message.progress.reason or "").startswith("outcome of send unknown")


def test_a_new_message_is_stored_marked_as_being_sent_in_one_write(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send mark goes with the message's first write: no second write before the call."""
    at_call: list[Message | None] = []
    saves: list[object] = []

    def save(*args: object) -> bool:
        saves.append(args)
        return True

    monkeypatch.setattr(world.repo, "save", save)

    def look(_: OutboundSms) -> str:
        at_call.append(world.repo.get("m-1"))
        return "res-1"

    world.orange.script = [look]
    world.deliver(sms())
    [stored] = at_call
    assert stored is not None
    assert stored.status is Status.ACCEPTED
    assert stored.send_started_at is not None
    assert stored.attempts == 1
    assert saves == []


def test_a_send_that_died_after_the_carrier_call_is_not_resent(world: World) -> None:
    """The process dies between Orange's 201 and the state write (fault injection)."""

    class Killed(BaseException):
        pass

    def accept_then_die(_: OutboundSms) -> str:
        raise Killed

    world.orange.script = [accept_then_die]
    with pytest.raises(Killed):
        world.deliver(sms())
    # Queued again, or its lane dispatched again: the claim's mark keeps it from a second send.
    assert world.deliver(sms()) is Result.DUPLICATE
    assert world.pipeline.retry_due(LANE).outcomes == {}
    # The sweep, once the claim ran out (longer than any send takes), can only find a dead one.
    assert world.tracker.sweep_overdue(utc_now()) == 0
    assert world.tracker.sweep_overdue(utc_now(after=timedelta(seconds=41))) == 1
    message = world.repo.get("m-1")
    assert message is not None
    assert (message.status, message.send_started_at) == (Status.UNKNOWN, None)
    assert message.progress.reason == "outcome of send unknown: the sender died mid-send"
    assert world.orange.sent == []


def test_a_receipt_that_beat_the_send_is_applied_when_the_send_is_recorded(world: World) -> None:
    early = StatusUpdate(
        Status.DELIVERED, "2026-01-01T00:00:00.000Z", "orange-dr", "DeliveredToTerminal"
    )
    world.tracker.apply_receipt("orange", "res-1", early)
    world.deliver(sms())
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.DELIVERED
    assert world.repo.early_updates("orange", "res-1") == []


def receipts(world: World, ref: str, *raws: str) -> Callable[[], None]:
    def run() -> None:
        for i, raw in enumerate(raws):
            update = StatusUpdate(normalise_orange_sms(raw), f"t{i}", "orange-dr", raw)
            world.tracker.apply_receipt("orange", ref, update)

    return run


def test_receipts_move_the_status_forward_only(world: World) -> None:
    world.deliver(sms())
    receipts(world, "res-1", "DeliveredToTerminal", "DeliveredToNetwork", "DeliveredToNetwork")()
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.DELIVERED
    assert [h.get("providerStatus") for h in message.progress.history] == [
        None,
        None,
        "DeliveredToTerminal",
        "DeliveredToNetwork",
    ]


def test_a_failure_before_the_carrier_call_is_retried_not_marked_unknown(world: World) -> None:
    """A token that cannot be had (here: no credentials) sent nothing: retry, not unknown."""
    world.secrets.values["creds"] = {}
    assert world.deliver(sms()) is Result.LATER
    message = world.repo.get("m-1")
    assert message is not None
    assert (message.status, message.send_started_at) == (Status.ACCEPTED, None)
    world.secrets.values["creds"] = {"client_id": "id", "client_secret": "secret"}
    assert world.pipeline.retry_due(LANE).outcomes == {"m-1": Result.SUBMITTED}


def test_a_message_without_a_final_receipt_after_72_hours_ends_unknown(world: World) -> None:
    world.deliver(sms(id="waiting"))
    world.deliver(sms(id="done"))
    receipts(world, "res-2", "DeliveredToTerminal")()
    world.deliver(sms(id="impossible"))
    receipts(world, "res-3", "DeliveryImpossible")()
    assert world.tracker.sweep_overdue(utc_now()) == 0  # not due yet
    later = utc_now(after=timedelta(hours=72, minutes=1))
    assert world.tracker.sweep_overdue(later) == 2  # "done" is final: not in the index
    waiting = world.repo.get("waiting")
    assert waiting is not None
    assert (waiting.status, waiting.progress.reason) == (Status.UNKNOWN, "no final receipt")
    impossible = world.repo.get("impossible")
    assert impossible is not None
    assert impossible.status is Status.UNDELIVERED  # unknown ranks below: only recorded
    assert impossible.progress.history[-1]["reason"] == "no final receipt"
    assert world.tracker.sweep_overdue(later) == 0  # swept once


def test_a_request_is_read_and_routed_once_when_queued_and_once_when_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intake reads it once (its lane needs its account); the dispatcher once more, from the
    request stored with the message."""
    calls: list[str] = []

    def counted[**P, T](name: str, function: Callable[P, T]) -> Callable[P, T]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            calls.append(name)
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        "gateway.core.sending.parse_send_request", counted("parse", parse_send_request)
    )
    monkeypatch.setattr(
        "gateway.orange.sms_channel.orange_country", counted("country", orange_country)
    )
    queued = world.pipeline.queue_request(sms(to="+22370000001"))
    assert queued.lane == "orange-sms:mali"
    assert calls == ["parse", "country"]
    assert world.pipeline.dispatch("orange-sms:mali").outcomes == {"m-1": Result.SUBMITTED}
    assert calls == ["parse", "country"] * 2


def test_recording_the_send_uses_what_the_sender_wrote(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    read = world.repo.get

    def counted_get(message_id: str) -> Message | None:
        reads.append(message_id)
        return read(message_id)

    monkeypatch.setattr(world.repo, "get", counted_get)
    assert world.deliver(sms()) is Result.SUBMITTED
    assert reads == []  # created, sent and recorded without reading the message back
    assert world.status("m-1") is Status.SUBMITTED


def test_a_message_past_its_validity_ends_expired_and_is_never_sent(world: World) -> None:
    queued = utc_now(after=-timedelta(seconds=301))
    assert world.deliver(sms(validFor=300), queued_at=queued) is Result.EXPIRED
    assert world.orange.sent == []
    message = world.repo.get("m-1")
    assert message is not None
    assert message.status is Status.EXPIRED
    assert message.progress.reason is not None
    assert message.progress.reason.startswith("not handed to the carrier within its validity")
    assert message.public_view()["expiresAt"] == message.expires_at


def test_a_message_within_its_validity_is_sent(world: World) -> None:
    queued = utc_now(after=-timedelta(seconds=200))
    assert world.deliver(sms(validFor=300), queued_at=queued) is Result.SUBMITTED


def test_a_held_message_ends_expired_once_its_validity_ran_out(world: World) -> None:
    world.orange.script = [AccountBlocked("Orange 403 POL0001: Expired contract")]
    queued = utc_now(after=-timedelta(seconds=61))
    assert world.deliver(sms(validFor=60), queued_at=queued) is Result.EXPIRED
    assert world.status("m-1") is Status.EXPIRED


def test_a_scheduled_message_waits_for_its_time_without_using_attempts(world: World) -> None:
    send_at = utc_now(after=timedelta(minutes=5))
    assert world.deliver(sms(sendAt=send_at)) is Result.QUEUED
    assert world.pipeline.dispatch(LANE).outcomes == {}  # not due: nothing ready
    assert world.pipeline.wakeups.timers[-1] == (LANE, send_at)
    assert world.orange.sent == []
    message = world.repo.get("m-1")
    assert message is not None
    assert (message.status, message.send_started_at) == (Status.ACCEPTED, None)
    assert message.public_view()["sendAt"] == send_at
    assert world.pipeline.dispatch(LANE, now=send_at).outcomes == {"m-1": Result.SUBMITTED}


def test_a_scheduled_time_in_the_past_sends_now(world: World) -> None:
    assert world.deliver(sms(sendAt="2026-01-01T09:00:00+01:00")) is Result.SUBMITTED
    message = world.repo.get("m-1")
    assert message is not None
    assert message.send_at == "2026-01-01T08:00:00.000Z"


def test_priority_and_campaign_are_kept_and_shown(world: World) -> None:
    world.deliver(sms(priority="high", campaign="otp:login"))
    message = world.repo.get("m-1")
    assert message is not None
    view = message.public_view()
    assert (view["priority"], view["campaign"]) == ("high", "otp:login")
    assert "sendAt" not in view
    assert "expiresAt" not in view


def test_a_request_without_scheduling_is_normal_priority(world: World) -> None:
    world.deliver(sms())
    message = world.repo.get("m-1")
    assert message is not None
    assert message.public_view()["priority"] == "normal"


def prepared_sms(world: World) -> Prepared[Route]:
    return world.sms.prepare(parse_send_request(json.dumps(sms())))  # type: ignore[arg-type]


def test_no_orange_call_starts_without_the_time_to_wait_it_out(world: World) -> None:
    """13.05 s (connect and read timeouts) must be left for the call, after the slot."""
    with pytest.raises(OutOfTime):
        world.sms.send(prepared_sms(world), max_wait=CALL_SECONDS - 0.5)
    assert world.orange.sent == []
    assert world.sms.send(prepared_sms(world), max_wait=CALL_SECONDS + 0.5) == "res-1"


def test_a_token_renewal_does_not_get_a_new_time_budget(world: World) -> None:
    """The refused token, then a renewal and a second call, all within the one budget: here
    the first call took 20 of 40 s, so the renewal (up to 36 s with its call) does not start."""

    def slow_refusal(_: object) -> str:
        world.now += 20.0
        raise TokenRejected("Orange 401 code 42: Expired credentials")

    world.orange.script = [slow_refusal]
    with pytest.raises(OutOfTime, match="a token renewal and a call"):
        world.sms.send(prepared_sms(world), max_wait=40.0)
    assert world.orange.token_requests == 1  # the first token only: no renewal started


def test_out_of_time_is_a_wait_in_the_lane_not_an_attempt(world: World) -> None:
    world.orange.script = [OutOfTime("2.0s left in this invocation")]
    assert world.deliver(sms()) is Result.LATER
    message = world.repo.get("m-1")
    assert message is not None
    assert (message.status, message.attempts, message.send_started_at) == (
        Status.ACCEPTED,
        0,
        None,
    )
    assert 0 < held_for(world) <= 2.5
