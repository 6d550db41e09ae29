"""The storage ports the core depends on: where messages, their carrier references and early
receipts live (`MessageStore`), the indexes a search reads (`MessageIndex`), and the messages
waiting per lane (`LaneQueue`).
`gateway.aws.message_store` and `gateway.aws.queue_store` implement them on DynamoDB; the
core's unit tests use in-memory fakes (`tests/fakes.py`), held to the same contract tests.

Every write of a message is conditional on the version it read (`save` answers False when
the stored message moved on), so concurrent receipts and sends never overwrite each other.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message


class MessageStore(Protocol):
    def create(self, message: Message) -> bool:
        """Store a new message; False when one with this id already exists."""
        ...

    def get(self, message_id: str) -> Message | None: ...

    def save(self, before: Message, after: Message) -> bool:
        """Write `after` if the stored message is still `before`; False when it moved on."""
        ...

    def save_with_ref(self, before: Message, after: Message) -> bool:
        """`save` plus the carrier reference that leads receipts to the message, atomically."""
        ...

    def message_id_for_ref(self, provider: str, ref: str) -> str | None: ...

    def keep_early(self, provider: str, ref: str, update: StatusUpdate, now: str) -> None:
        """Keep a receipt whose message is not recorded yet (kept a week after `update.at`);
        an exact duplicate of one kept is kept once."""
        ...

    def early_updates(self, provider: str, ref: str) -> list[tuple[str, StatusUpdate]]:
        """Receipts kept for this reference, oldest first, with the key to drop each."""
        ...

    def drop_early(self, provider: str, ref: str, key: str) -> None: ...

    def kept_before(self, before: str) -> Iterator[tuple[str, str]]:
        """(provider, reference) of the receipts kept since before `before`."""
        ...

    def overdue(self, now: str) -> Iterator[str]:
        """Ids of messages whose final receipt was due before `now`."""
        ...

    def claim(self, message_id: str, now: str, lease_until: str) -> Message | None:
        """Mark an `accepted` message as being sent now (its send mark, one more attempt, a
        deadline of `lease_until` for the sweep should the sender die): the message as
        marked, or None when it is not waiting any more (sent, being sent, ended)."""
        ...

    def due_polls(self, now: str, limit: int) -> list[tuple[str, str, int]]:
        """(id, carrier reference, polls so far) of the messages due a status poll, oldest
        first, at most `limit`."""
        ...

    def end_waiting(self, message_id: str, update: StatusUpdate) -> Message | None:
        """End a message that is `accepted` and not being sent with the final `update`, in one
        conditional write with no read before it (a campaign cancel makes thousands): the
        message as ended, or None when it was not waiting, or its history is full (then the
        caller reads it and decides, as for any other write)."""
        ...


class By(StrEnum):
    """The indexes a search reads, each keyed by one thing and ordered by creation time."""

    RECIPIENT = "to"
    CAMPAIGN = "campaign"
    DAY = "day"  # the UTC date of creation


def utc_day(at: str) -> str:
    """The UTC date (`YYYY-MM-DD`) of a moment as `utc_text` writes it: its `By.DAY` key."""
    return at[:10]


@dataclass(frozen=True, slots=True)
class Partition:
    """One key of one index: a number, a campaign, a day (`YYYY-MM-DD`)."""

    by: By
    key: str


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """A message as an index lists it: enough to read it, and to resume after it."""

    message_id: str
    created_at: str


class MessageIndex(Protocol):
    def entries(
        self, partition: Partition, since: str, until: str, after: IndexEntry | None, limit: int
    ) -> tuple[list[IndexEntry], bool]:
        """The partition's messages created from `since` to `until`, newest first, after
        `after` (the last one consumed) if given, at most `limit`; and whether more may
        follow. Eventually consistent: a message created a moment ago may be missing."""
        ...

    def messages(self, message_ids: Sequence[str]) -> dict[str, Message]:
        """The messages with these ids (at most 100) by id; one that is gone is left out."""
        ...


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A message waiting in its lane (the carrier account whose rate it waits for).
    `position` orders a lane's ready messages: priority first, then the oldest."""

    lane: str
    message_id: str
    position: str


class LaneQueue(Protocol):
    """The messages waiting to be handed to the carrier, per lane: ready now, or due later
    (scheduled, backing off, held). Every read is strongly consistent, so a message pushed
    is seen by the next read of its lane."""

    def push(self, entry: QueueEntry, due_at: str | None = None) -> None:
        """Ready now (`due_at` None) or at `due_at`; pushing the same entry again is a no-op."""
        ...

    def ready(self, lane: str, limit: int) -> list[QueueEntry]:
        """The lane's first ready entries, in position order."""
        ...

    def remove(self, entry: QueueEntry) -> None: ...

    def promote(self, lane: str, now: str, limit: int) -> int:
        """Make the entries due by `now` ready; how many."""
        ...

    def next_due(self, lane: str) -> str | None:
        """When the lane's earliest waiting-for-later entry is due; None when there is none."""
        ...
