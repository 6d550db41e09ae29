"""The message lifecycle as a pure function: a state plus a status update gives the next state.

Every receipt is kept in the history (an exact duplicate once), and the status only moves
forward in rank; the repository persists what this module decides.
"""

from dataclasses import dataclass, field, replace

from gateway.core.status import Status, can_move

HISTORY_LIMIT = 50


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
        return f"{self.source}|{self.provider_status or ''}|{self.status}|{self.reason or ''}"

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
    seen: frozenset[str] = field(default_factory=frozenset)


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
        seen=progress.seen | {key},
    )
