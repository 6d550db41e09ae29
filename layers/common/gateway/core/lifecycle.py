"""The message lifecycle as a pure function: a state plus a status update gives the next state.

Every receipt is kept in the history (an exact duplicate once), and the status only moves
forward in rank; the repository persists what this module decides.

The history keeps the latest HISTORY_LIMIT entries, and `seen`, the dedupe keys, is read from
them (stored nowhere: one copy, not two, in every write): both are bounded alike, however
many receipts a message gets. A
duplicate is recognised while its first copy is among the latest 50 distinct updates, which
covers how duplicates come (a carrier or MMSC resending within minutes, when a message has had
a handful of updates); an older one is recorded again but cannot move the status: statuses
only move forward, and it was applied once already.
"""

from dataclasses import dataclass, replace

from gateway.core.status import Status, can_move

HISTORY_LIMIT = 50


def _dedupe_key(source: str, provider_status: str | None, status: str, reason: str | None) -> str:
    return f"{source}|{provider_status or ''}|{status}|{reason or ''}"


def _entry_key(entry: dict[str, str]) -> str:
    """The dedupe key of the update a history entry records (`StatusUpdate.as_history`)."""
    return _dedupe_key(
        entry["source"], entry.get("providerStatus"), entry["status"], entry.get("reason")
    )


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    status: Status
    at: str
    source: str
    provider_status: str | None = None
    reason: str | None = None

    @property
    def dedupe_key(self) -> str:
        """Two updates are the same when the same source reports the same status (and reason)."""
        return _dedupe_key(self.source, self.provider_status, self.status, self.reason)

    def as_history(self) -> dict[str, str]:
        entry = {"status": str(self.status), "at": self.at, "source": self.source}
        if self.provider_status is not None:
            entry["providerStatus"] = self.provider_status
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry


@dataclass(frozen=True, slots=True)
class Progress:
    """The part of a message the lifecycle decides on."""

    status: Status
    provider_status: str | None = None
    reason: str | None = None
    updated_at: str | None = None
    history: tuple[dict[str, str], ...] = ()

    @property
    def seen(self) -> frozenset[str]:
        """The dedupe keys of the history's entries: an update with one of them is a duplicate."""
        return frozenset(map(_entry_key, self.history))


def advance(progress: Progress, update: StatusUpdate) -> Progress | None:
    """The next progress, or None when the update is an exact duplicate (nothing to write)."""
    key = update.dedupe_key
    if key in progress.seen:
        return None
    history = (*progress.history, update.as_history())[-HISTORY_LIMIT:]
    moved = can_move(progress.status, update.status)
    return replace(
        progress,
        status=update.status if moved else progress.status,
        provider_status=update.provider_status
        if moved and update.provider_status
        else progress.provider_status,
        reason=update.reason if moved else progress.reason,
        updated_at=update.at,
        history=history,
    )
