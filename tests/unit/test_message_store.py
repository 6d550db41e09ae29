"""One contract for both `MessageStore`s: the DynamoDB store the functions use (over moto) and
the in-memory fake the core's unit tests use. A fake that behaved more kindly than DynamoDB
would let the core's tests pass on code that loses races in Lambda."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import boto3
import pytest

from gateway.aws.message_store import MessageRepository, message_key
from gateway.core.lifecycle import HISTORY_LIMIT, StatusUpdate, advance
from gateway.core.model import Message, utc_now
from gateway.core.status import Status
from gateway.core.store import MessageStore
from gateway.core.tracking import Applied, StatusTracker
from tests.fakes import MemoryMessageStore

AT = "2026-12-03T10:00:00.000Z"


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[MessageStore]:
    if request.param == "memory":
        yield MemoryMessageStore()
        return
    request.getfixturevalue("aws")
    yield MessageRepository("messages")


def message(message_id: str = "m-1", **fields: object) -> Message:
    update = StatusUpdate(Status.ACCEPTED, AT, "gateway")
    return Message.new(id=message_id, channel="sms", to="+2250700000001", update=update, **fields)


def test_an_id_is_created_once(store: MessageStore) -> None:
    assert store.create(message())
    assert not store.create(message(segments=2))
    stored = store.get("m-1")
    assert stored is not None
    assert stored.segments is None
    assert store.get("other") is None


def test_a_save_from_a_stale_read_is_refused(store: MessageStore) -> None:
    store.create(message())
    first = store.get("m-1")
    assert first is not None
    assert store.save(first, replace(first, attempts=1))
    assert not store.save(first, replace(first, attempts=2))  # it moved on since `first`
    stored = store.get("m-1")
    assert stored is not None
    assert (stored.attempts, stored.version) == (1, first.version + 1)


def test_the_reference_is_written_with_the_message(store: MessageStore) -> None:
    store.create(message())
    before = store.get("m-1")
    assert before is not None
    sent = replace(before, provider="orange", provider_ref="res-1", final_by="2026-12-06")
    assert store.save_with_ref(before, sent)
    assert store.message_id_for_ref("orange", "res-1") == "m-1"
    assert not store.save_with_ref(before, replace(sent, provider_ref="res-2"))
    assert store.message_id_for_ref("orange", "res-2") is None


def test_early_receipts_are_kept_in_order_until_dropped(store: MessageStore) -> None:
    later = StatusUpdate(Status.DELIVERED, "2026-12-03T10:00:02.000Z", "orange-dr", "X")
    sooner = StatusUpdate(Status.SENT, "2026-12-03T10:00:01.000Z", "orange-dr", "Y")
    store.keep_early("orange", "res-1", later, "2026-12-03T10:00:03.000Z")
    store.keep_early("orange", "res-1", sooner, "2026-12-03T10:00:04.000Z")
    # The same receipt again, as a carrier resends it (Orange's carry no time: a new `at`).
    again = replace(sooner, at="2026-12-03T10:00:05.000Z")
    store.keep_early("orange", "res-1", again, "2026-12-03T10:00:05.000Z")
    kept = store.early_updates("orange", "res-1")
    assert [update for _, update in kept] == [sooner, later]
    store.drop_early("orange", "res-1", kept[0][0])
    assert [update for _, update in store.early_updates("orange", "res-1")] == [later]
    assert store.early_updates("orange", "other") == []


def test_overdue_and_due_polls_skip_final_and_future_messages(store: MessageStore) -> None:
    for message_id, final_by, status in (
        ("late", "2026-12-01T00:00:00.000Z", Status.SENT),
        ("early", "2026-12-09T00:00:00.000Z", Status.SENT),
        ("done", "2026-12-01T00:00:00.000Z", Status.DELIVERED),
    ):
        store.create(message(message_id))
        before = store.get(message_id)
        assert before is not None
        progress = replace(before.progress, status=status)
        store.save(before, replace(before, final_by=final_by, progress=progress))
    assert list(store.overdue(AT)) == ["late"]

    polled = {"final_by": "2026-12-06T00:00:00.000Z"}  # registered: a final status awaited
    for message_id, next_poll in (("p2", "2026-12-02T00:00:00.000Z"), ("p1", "2026-12-01")):
        store.create(
            message(message_id, provider_ref=f"ref-{message_id}", next_poll_at=next_poll, **polled)
        )
    store.create(
        message("p3", provider_ref="ref-p3", next_poll_at="2026-12-24T00:00:00.000Z", **polled)
    )
    assert store.due_polls(AT, 10) == [("p1", "ref-p1", 0), ("p2", "ref-p2", 0)]
    assert store.due_polls(AT, 1) == [("p1", "ref-p1", 0)]


def test_how_a_message_is_scheduled_is_kept(store: MessageStore) -> None:
    scheduled = message(
        priority="bulk",
        campaign="spring",
        send_at="2026-12-24T08:00:00.000Z",
        expires_at="2026-12-24T09:00:00.000Z",
    )
    store.create(scheduled)
    stored = store.get("m-1")
    assert stored is not None
    assert (stored.priority, stored.campaign, stored.send_at, stored.expires_at) == (
        "bulk",
        "spring",
        "2026-12-24T08:00:00.000Z",
        "2026-12-24T09:00:00.000Z",
    )


def test_the_message_a_resend_sends_again_is_kept(store: MessageStore) -> None:
    store.create(message("m-1.r1", resend_of="m-1"))
    store.create(message("m-2"))
    resent, plain = store.get("m-1.r1"), store.get("m-2")
    assert resent is not None
    assert plain is not None
    assert (resent.resend_of, plain.resend_of) == ("m-1", None)


def test_a_message_is_claimed_once_and_only_while_accepted(store: MessageStore) -> None:
    store.create(message())
    claimed = store.claim("m-1", AT, "2026-12-03T10:01:00.000Z")
    assert claimed is not None
    assert (claimed.send_started_at, claimed.attempts, claimed.final_by) == (
        AT,
        1,
        "2026-12-03T10:01:00.000Z",
    )
    assert store.get("m-1") == claimed
    assert store.claim("m-1", AT, AT) is None  # being sent
    before = store.get("m-1")
    assert before is not None
    ended = replace(before, progress=replace(before.progress, status=Status.CANCELLED))
    store.save(before, replace(ended, send_started_at=None))
    assert store.claim("m-1", AT, AT) is None  # ended
    assert store.claim("unknown", AT, AT) is None
    # The sweep finds a claim whose sender died (its deadline passed).
    store.create(message("m-2"))
    store.claim("m-2", AT, "2026-12-03T10:00:40.000Z")
    assert list(store.overdue("2026-12-03T10:01:00.000Z")) == ["m-2"]


def test_a_waiting_message_is_ended_in_one_write_as_advance_would_end_it(
    store: MessageStore,
) -> None:
    waiting = message("m-1", final_by="2026-12-03T10:00:40.000Z")  # a send that came back
    store.create(waiting)
    update = StatusUpdate(Status.CANCELLED, AT, "operator", reason="cancelled by an operator")
    ended = store.end_waiting("m-1", update)
    progress = advance(waiting.progress, update)
    assert progress is not None
    assert ended == replace(waiting, progress=progress, final_by=None, version=1)
    assert store.get("m-1") == ended
    assert list(store.overdue("2026-12-04T00:00:00.000Z")) == []
    assert store.end_waiting("m-1", update) is None  # ended already


def test_only_a_waiting_message_is_ended_without_a_read(store: MessageStore) -> None:
    update = StatusUpdate(Status.EXPIRED, AT, "gateway", reason="validity passed")
    store.create(message("sending"))
    store.claim("sending", AT, AT)
    full = message("full")
    for i in range(HISTORY_LIMIT - 1):
        entry = StatusUpdate(Status.ACCEPTED, AT, "gateway", reason=f"held {i}")
        full = replace(full, progress=advance(full.progress, entry) or full.progress)
    store.create(full)
    assert len(full.progress.history) == HISTORY_LIMIT
    assert store.end_waiting("sending", update) is None
    assert store.end_waiting("full", update) is None  # the caller reads it and trims
    assert store.end_waiting("unknown", update) is None
    assert store.get("unknown") is None
    assert [store.get(i).status for i in ("sending", "full")] == [Status.ACCEPTED] * 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "final_by"),
    [
        (Status.UNKNOWN, None),  # the sweep: no final receipt within 72 hours
        (Status.DELIVERED, "2026-12-06T00:00:00.000Z"),  # a final status
        (Status.REJECTED, "2026-12-06T00:00:00.000Z"),
    ],
)
def test_a_message_that_stops_waiting_leaves_the_poll_index_in_the_same_write(
    store: MessageStore, status: Status, final_by: str | None
) -> None:
    """A swept Orange PL message was polled hourly until its TTL (180 days): the sweep ends
    it `unknown` and clears its deadline, and that one write takes it out of the index."""
    store.create(
        message(
            "pl",
            provider_ref="ref-pl",
            next_poll_at="2026-12-01T00:00:00.000Z",
            final_by="2026-12-02T00:00:00.000Z",
        )
    )
    assert store.due_polls(AT, 10) == [("pl", "ref-pl", 0)]
    before = store.get("pl")
    assert before is not None
    ended = replace(before, progress=replace(before.progress, status=status), final_by=final_by)
    assert store.save(before, ended)
    assert store.due_polls(AT, 10) == []
    assert list(store.overdue(AT)) == []
    if isinstance(store, MessageRepository):  # the index's key attribute is gone
        item = store._client.get_item(TableName="messages", Key=message_key("pl"))["Item"]
        assert "pollShard" not in item
        assert "openShard" not in item


def test_the_sweep_takes_an_orange_pl_message_out_of_the_poll_index(
    store: MessageStore,
) -> None:
    """Through the sweeper's own path (`StatusTracker.sweep_overdue`), on both stores."""
    store.create(
        message(
            "pl",
            provider_ref="ref-pl",
            next_poll_at="2026-12-01T00:00:00.000Z",
            final_by="2026-12-02T00:00:00.000Z",
        )
    )
    assert StatusTracker(store).sweep_overdue(AT) == 1
    swept = store.get("pl")
    assert swept is not None
    assert (swept.status, swept.final_by) == (Status.UNKNOWN, None)
    assert store.due_polls(AT, 10) == []


def test_receipts_kept_long_enough_are_listed_once_per_reference(store: MessageStore) -> None:
    first = StatusUpdate(Status.SENT, "2026-12-03T10:00:01.000Z", "orange-dr", "Y")
    second = StatusUpdate(Status.DELIVERED, "2026-12-03T10:00:02.000Z", "orange-dr", "X")
    store.keep_early("orange", "res-1", first, "2026-12-03T10:00:01.000Z")
    store.keep_early("orange", "res-1", second, "2026-12-03T10:00:02.000Z")
    store.keep_early("orange", "res-2", first, "2026-12-03T10:05:00.000Z")
    assert list(store.kept_before("2026-12-03T10:03:00.000Z")) == [("orange", "res-1")]
    for key, _ in store.early_updates("orange", "res-1"):
        store.drop_early("orange", "res-1", key)
    assert list(store.kept_before("2026-12-03T10:03:00.000Z")) == []


# -- receipts left behind by a sender that died (#14 point 4) ---------------------------


def sent_without_applying_what_was_kept(store: MessageStore, ref: str) -> None:
    """The sender's transaction (the message submitted, its reference written), and then the
    sender dies: what was kept for `ref` is not applied."""
    created = Message.new(
        id="m-1",
        channel="sms",
        to="+2250700000001",
        update=StatusUpdate(Status.ACCEPTED, utc_now(), "gateway"),
    )
    assert store.create(created)
    before = store.get("m-1")
    assert before is not None
    submitted = replace(before.progress, status=Status.SUBMITTED)
    after = replace(before, progress=submitted, provider="orange", provider_ref=ref)
    assert store.save_with_ref(before, after)


def test_a_receipt_left_behind_by_a_dead_sender_is_applied_by_the_sweep(
    store: MessageStore,
) -> None:
    tracker = StatusTracker(store)
    delivered = StatusUpdate(Status.DELIVERED, utc_now(), "orange-dr", "DeliveredToTerminal")
    assert tracker.apply_receipt("orange", "res-1", delivered) is Applied.EARLY
    sent_without_applying_what_was_kept(store, "res-1")

    # A sender still alive applies it within moments: too early to call it stranded.
    assert tracker.apply_stranded(utc_now()) == 0
    assert tracker.apply_stranded(utc_now(after=timedelta(minutes=3))) == 1
    message = store.get("m-1")
    assert message is not None
    assert message.status is Status.DELIVERED
    assert store.early_updates("orange", "res-1") == []
    assert tracker.apply_stranded(utc_now(after=timedelta(minutes=3))) == 0


def test_a_receipt_whose_send_is_never_recorded_stays_kept(store: MessageStore) -> None:
    tracker = StatusTracker(store)
    delivered = StatusUpdate(Status.DELIVERED, utc_now(), "orange-dr", "DeliveredToTerminal")
    tracker.apply_receipt("orange", "res-9", delivered)
    assert tracker.apply_stranded(utc_now(after=timedelta(minutes=3))) == 0
    assert [u for _, u in store.early_updates("orange", "res-9")] == [delivered]


@pytest.mark.usefixtures("aws")
def test_the_dedupe_keys_are_read_from_the_history_not_stored_twice() -> None:
    store = MessageRepository("messages")
    receipt = StatusUpdate(Status.SENT, AT, "orange", provider_status="DeliveredToNetwork")
    first = message()
    store.create(first)
    progress = advance(first.progress, receipt)
    assert progress is not None
    assert store.save(first, replace(first, progress=progress))
    item = boto3.client("dynamodb").get_item(TableName="messages", Key=message_key("m-1"))
    assert "seen" not in item["Item"]  # one copy of each update: the history's
    stored = store.get("m-1")
    assert stored is not None
    assert advance(stored.progress, receipt) is None  # still known as a duplicate
