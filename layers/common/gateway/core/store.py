"""The storage port the core depends on: where messages, their carrier references and early
receipts live. `gateway.aws.message_store` implements it on DynamoDB; the core's unit tests
use an in-memory fake (`tests/fakes.py`).

Every write of a message is conditional on the version it read (`save` answers False when
the stored message moved on), so concurrent receipts and sends never overwrite each other.
"""

from collections.abc import Iterator
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

    def keep_early(self, provider: str, ref: str, update: StatusUpdate) -> None:
        """Keep a receipt whose message is not recorded yet (kept a week after `update.at`)."""
        ...

    def early_updates(self, provider: str, ref: str) -> list[tuple[str, StatusUpdate]]:
        """Receipts kept for this reference, oldest first, with the key to drop each."""
        ...

    def drop_early(self, provider: str, ref: str, key: str) -> None: ...

    def overdue(self, now: str) -> Iterator[str]:
        """Ids of messages whose final receipt was due before `now`."""
        ...

    def due_polls(self, now: str, limit: int) -> list[tuple[str, str, int]]:
        """(id, carrier reference, polls so far) of the messages due a status poll, oldest
        first, at most `limit`."""
        ...
