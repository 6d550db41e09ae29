"""Receipts kept before their send was recorded are applied even when the sender died between
recording the send and applying them (#14 point 4): the sweep applies what was left behind, on
both stores; a receipt whose send is never recorded stays kept."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from gateway.aws.message_store import MessageRepository
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now
from gateway.core.status import Status
from gateway.core.store import MessageStore
from gateway.core.tracking import Applied, StatusTracker
from tests.fakes import MemoryMessageStore


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[MessageStore]:
    if request.param == "memory":
        yield MemoryMessageStore()
        return
    request.getfixturevalue("aws")
    yield MessageRepository("messages")


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
