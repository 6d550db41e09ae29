"""The message lifecycle rules as a state machine (hypothesis), run on the gateway's own
StatusTracker and MessageRepository over moto: sends recorded, Orange receipts in any order
(before the send is recorded, duplicated, of any status), the sender's own updates (a retry
postponed, gave up, rejected, outcome unknown), time passing and the 72-hour sweep.

The oracle is a model written from DESIGN.md's rules, not from the gateway's code: its own
rank table and its own mapping of Orange's statuses. After every step the stored messages and
kept receipts must match it, and each message's move must be one the rules allow."""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gateway.aws.message_store import MessageRepository
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.status import Status
from gateway.core.tracking import NO_FINAL_RECEIPT, Applied, StatusTracker
from gateway.orange.receipts import PROVIDER, parse_receipt, receipt_update
from tests.support import create_tables

# DESIGN.md, "Message lifecycle": the ranks, the final statuses, and rejected / failed
# reachable only before `sent`.
RANK = {"accepted": 0, "submitted": 1, "sent": 2, "unknown": 3, "undelivered": 4, "delivered": 5}
FINAL = frozenset({"delivered", "rejected", "failed"})
BEFORE_SENT = frozenset({"accepted", "submitted"})
# The seeds' five deliveryStatus values, and one they do not list (counted as unknown).
ORANGE = {
    "DeliveredToNetwork": "sent",
    "MessageWaiting": "sent",
    "DeliveryUncertain": "unknown",
    "DeliveryImpossible": "undelivered",
    "DeliveredToTerminal": "delivered",
    "DeliveryNotificationNotSupported": "unknown",
}
# What the sender itself records: (status, reason).
SENDER_UPDATES = [
    ("accepted", "orange answered 500"),  # postponed, retried through the queue
    ("accepted", "connection refused"),
    ("failed", "invalid request: channel: 'sms' is not configured here"),
    ("rejected", "orange refused: sender name not approved"),
    ("unknown", "outcome of send unknown: read timeout"),
]
FINAL_RECEIPT_WITHIN = timedelta(hours=72)
MESSAGES = 3
ORPHAN_REF = "ref-never-sent"
START = datetime(2026, 1, 1, tzinfo=UTC)

type Key = tuple[str, str | None, str, str | None]  # source, providerStatus, status, reason


def moves(current: str, new: str) -> bool:
    if current in FINAL or new == current:
        return False
    if new in ("rejected", "failed"):
        return current in BEFORE_SENT
    return RANK[new] > RANK[current]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock:
    """The tracker's clock (it sets the 72-hour deadline from it), moved by the machine."""

    def __init__(self) -> None:
        self.now = START

    def utc_now(self, after: timedelta = timedelta(0)) -> str:
        return iso(self.now + after)

    def tick(self, by: timedelta = timedelta(milliseconds=1)) -> str:
        """Move on (every update gets a time of its own) and give the new time."""
        self.now += by
        return iso(self.now)


@dataclass
class Expected:
    """One message as the rules say it must be."""

    ref: str
    status: str = "accepted"
    reason: str | None = None
    provider_status: str | None = None
    history: set[Key] = field(default_factory=set)
    sent: bool = False
    final_by: str | None = None

    def apply(self, key: Key) -> Applied:
        _, provider_status, status, reason = key
        if key in self.history:
            return Applied.DUPLICATE
        self.history.add(key)
        if not moves(self.status, status):
            return Applied.RECORDED
        self.status, self.reason = status, reason
        if provider_status is not None:
            self.provider_status = provider_status
        return Applied.CHANGED


def key_of(update: StatusUpdate) -> Key:
    return (update.source, update.provider_status, str(update.status), update.reason)


def stored_key(entry: dict[str, Any]) -> Key:
    """A history entry's or a kept receipt's key, as stored."""
    return (entry["source"], entry.get("providerStatus"), entry["status"], entry.get("reason"))


class Lifecycle(RuleBasedStateMachine):
    receipts = Bundle("receipts")

    def __init__(self, clock: Clock, table: Callable[[], str]) -> None:
        super().__init__()
        self.clock = clock
        clock.now = START
        self.table = table()
        self.repo = MessageRepository(self.table)
        self.tracker = StatusTracker(self.repo)
        self.expected: dict[str, Expected] = {}
        self.kept: dict[str, list[Key]] = {}  # receipts waiting for their send, by ref
        self.statuses: dict[str, str] = {}  # as last read, to check each step's move
        self.dynamodb = boto3.client("dynamodb")

    # ------------------------------------------------------------------ rules
    @initialize()
    def accept_messages(self) -> None:
        for index in range(MESSAGES):
            message_id = f"msg-{index}"
            update = StatusUpdate(Status.ACCEPTED, self.clock.tick(), "gateway")
            message = Message.new(id=message_id, channel="sms", to="+2250700000001", update=update)
            assert self.repo.create(message)
            self.expected[message_id] = Expected(ref=f"ref-{index}", history={key_of(update)})

    @precondition(lambda self: any(self._sendable(m) for m in self.expected.values()))
    @rule(data=st.data())
    def record_send(self, data: st.DataObject) -> None:
        """The carrier took the message: `submitted` with its reference, then the receipts
        kept for that reference applied."""
        message_id = data.draw(
            st.sampled_from(sorted(i for i, m in self.expected.items() if self._sendable(m)))
        )
        expected = self.expected[message_id]
        update = StatusUpdate(Status.SUBMITTED, self.clock.tick(), "gateway")
        sent = self.repo.get(message_id)
        assert sent is not None
        self.tracker.record_send(sent, update, provider=PROVIDER, ref=expected.ref)
        expected.sent = True
        expected.final_by = self.clock.utc_now(after=FINAL_RECEIPT_WITHIN)
        expected.apply(key_of(update))
        for key in self.kept.pop(expected.ref, []):
            expected.apply(key)

    @rule(
        target=receipts,
        to=st.integers(0, MESSAGES),  # MESSAGES: a reference no send ever records
        raw=st.sampled_from(sorted(ORANGE)),
    )
    def receipt(self, to: int, raw: str) -> tuple[str, str]:
        """An Orange receipt of any status, whether or not its send is recorded yet."""
        ref = f"ref-{to}" if to < MESSAGES else ORPHAN_REF
        self._post_receipt(ref, raw)
        return ref, raw

    @rule(sent=receipts)
    def receipt_again(self, sent: tuple[str, str]) -> None:
        """Orange delivering the same receipt again, later: an exact duplicate."""
        self._post_receipt(*sent)

    @rule(message=st.integers(0, MESSAGES - 1), sender_update=st.sampled_from(SENDER_UPDATES))
    def sender_records(self, message: int, sender_update: tuple[str, str]) -> None:
        """The sender's own outcomes, applied whatever the message's state: the rules, not
        the sender's flow, must keep a late one from moving a message it may not."""
        status, reason = sender_update
        update = StatusUpdate(Status(status), self.clock.tick(), "gateway", reason=reason)
        outcome = self.tracker.apply(f"msg-{message}", update, send_started_at=None)
        assert outcome is self.expected[f"msg-{message}"].apply(key_of(update))

    @rule(by=st.sampled_from([timedelta(0), timedelta(hours=24), timedelta(hours=71, minutes=59)]))
    def time_passes_and_the_sweeper_runs(self, by: timedelta) -> None:
        """It ends only the messages the carrier has had for over 72 hours without a final
        status."""
        now = self.clock.tick(by)
        overdue = [
            m
            for m in self.expected.values()
            if m.final_by is not None and m.final_by < now and m.status not in FINAL
        ]
        assert self.tracker.sweep_overdue(now) == len(overdue)
        for expected in overdue:
            expected.apply(("gateway", None, "unknown", NO_FINAL_RECEIPT))
            expected.final_by = None

    # ------------------------------------------------------------------ invariants
    @invariant()
    def the_table_holds_what_the_rules_say(self) -> None:
        """Read as stored (one scan): each message, and the receipts kept for a send not
        recorded yet, and nothing else kept."""
        items = [
            {k: TypeDeserializer().deserialize(v) for k, v in item.items()}
            for item in self.dynamodb.scan(TableName=self.table)["Items"]
        ]
        messages = {str(i["id"]): i for i in items if str(i["pk"]).startswith("MSG#")}
        assert messages.keys() == self.expected.keys()
        for message_id, expected in self.expected.items():
            stored = messages[message_id]
            keys = [stored_key(entry) for entry in stored["history"]]
            assert len(keys) == len(set(keys)), "an exact duplicate in the history"
            assert set(keys) == expected.history
            assert stored["status"] == expected.status
            assert stored.get("reason") == expected.reason
            assert stored.get("providerStatus") == expected.provider_status
            assert stored.get("finalBy") == expected.final_by
            assert (stored.get("providerRef") == expected.ref) is expected.sent
            self._check_move(self.statuses.get(message_id), str(stored["status"]))
            self.statuses[message_id] = str(stored["status"])
        kept: dict[str, list[Key]] = {}
        for item in items:
            if str(item["sk"]).startswith("EARLY#"):
                ref = str(item["pk"]).removeprefix(f"REF#{PROVIDER}#")
                kept.setdefault(ref, []).append(stored_key(item))
        assert {ref: sorted(keys) for ref, keys in kept.items()} == {
            ref: sorted(keys) for ref, keys in self.kept.items() if keys
        }

    def teardown(self) -> None:
        self.dynamodb.delete_table(TableName=self.table)

    # ------------------------------------------------------------------ helpers
    def _post_receipt(self, ref: str, raw: str) -> None:
        """Through the receipt's own parsing, as the receipts function applies it."""
        notification = {
            "callbackData": ref,
            "deliveryInfo": {"address": "tel:+2250700000001", "deliveryStatus": raw},
        }
        body = json.dumps({"deliveryInfoNotification": notification})
        update = receipt_update(parse_receipt(body), self.clock.tick())
        assert str(update.status) == ORANGE[raw]
        outcome = self.tracker.apply_receipt(PROVIDER, ref, update)
        expected = next((m for m in self.expected.values() if m.ref == ref), None)
        if expected is None or not expected.sent:
            assert outcome is Applied.EARLY
            kept = self.kept.setdefault(ref, [])
            if key_of(update) not in kept:  # a duplicate of a kept receipt is kept once
                kept.append(key_of(update))
        else:
            assert outcome is expected.apply(key_of(update))

    @staticmethod
    def _sendable(message: Expected) -> bool:
        """The sender records a send once, for a message it claimed (accepted), or one
        another invocation meanwhile marked unknown."""
        return not message.sent and message.status in ("accepted", "unknown")

    @staticmethod
    def _check_move(before: str | None, after: str) -> None:
        """Each step's move, checked on its own: forward in rank, never out of a final
        status, into rejected or failed only before sent."""
        if before is None or before == after:
            return
        assert before not in FINAL, f"{before} is final, yet became {after}"
        if after in ("rejected", "failed"):
            assert before in BEFORE_SENT, f"{after} after {before}"
        else:
            assert RANK[after] > RANK[before], f"{before} -> {after} goes back"


@pytest.mark.usefixtures("aws")
def test_the_lifecycle_rules_hold_whatever_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("gateway.core.tracking.utc_now", clock.utc_now)
    tables = itertools.count()

    def fresh_table() -> str:
        """A table per example: the sweep reads the whole deadline index."""
        name = f"messages-{next(tables)}"
        create_tables({"MessagesTable": name})
        return name

    class OnThisTestsClock(Lifecycle):
        def __init__(self) -> None:
            super().__init__(clock, fresh_table)

    run_state_machine_as_test(
        OnThisTestsClock,
        # Derandomized, no database, no deadline: the "ci" profile (tests/conftest.py).
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            # No shrinking: every step costs moto calls, and shrinking a failure would run
            # past the test's timeout; a failure prints its whole sequence (25 steps at most).
            phases=[Phase.generate],
        ),
    )
