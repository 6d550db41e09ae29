"""The message as the gateway keeps it, and its public view (the status API's JSON)."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.core.lifecycle import Progress, StatusUpdate
from gateway.core.status import Status


def utc_text(moment: datetime) -> str:
    """The gateway's one way of writing a moment: ISO 8601 in UTC with milliseconds and `Z`,
    sortable as text, readable in the status API."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def rfc3339(value: str) -> datetime:
    """An RFC 3339 date and time with its offset (`Z` or +hh:mm), as callers give sendAt and
    search bounds; ValueError with the reason otherwise."""
    if not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date and time with an offset (2026-12-24T09:00:00Z)")
    try:
        return datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    except ValueError as exc:
        raise ValueError(f"is not a date and time: {exc}") from exc


def utc_now(after: timedelta = timedelta(0)) -> str:
    """Now (or `after` from now), as `utc_text` writes it."""
    return utc_text(datetime.now(UTC) + after)


def epoch_seconds(at: str) -> int:
    """A moment written by `utc_now` as Unix seconds (DynamoDB's TTL)."""
    return int(datetime.fromisoformat(at).timestamp())


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    channel: str
    to: str
    created_at: str
    progress: Progress
    provider: str | None = None
    provider_ref: str | None = None
    account: str | None = None
    country: str | None = None
    sender_name: str | None = None
    on_net: bool = False
    segments: int | None = None
    encoding: str | None = None  # an SMS's alphabet: GSM-7, or UCS-2 (70 characters a segment)
    attempts: int = 0
    send_started_at: str | None = None
    # When a final receipt is due at the latest (set once the carrier has the message).
    final_by: str | None = None
    # Channels followed by polling (Orange PL): when to ask next, and how often we asked.
    next_poll_at: str | None = None
    polls: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    # How it is scheduled: the request's priority, campaign and sendAt, and when its validity
    # (validFor from when it was queued) runs out.
    # The send request as queued (JSON): what the dispatcher sends once the message's turn came.
    request: str | None = None
    priority: str | None = None
    campaign: str | None = None
    send_at: str | None = None
    expires_at: str | None = None
    resend_of: str | None = None  # the message this one sends again (`cgw resend`)
    version: int = 0

    @classmethod
    def new(
        cls, *, id: str, channel: str, to: str, update: StatusUpdate, **fields: Any
    ) -> "Message":
        """A message whose first history entry is `update` (accepted, or failed when invalid)."""
        return cls(
            id=id,
            channel=channel,
            to=to,
            created_at=update.at,
            progress=Progress(
                status=update.status,
                provider_status=update.provider_status,
                reason=update.reason,
                updated_at=update.at,
                history=(update.as_history(),),
            ),
            **fields,
        )

    @property
    def status(self) -> Status:
        return self.progress.status

    def public_view(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": self.id,
            "channel": self.channel,
            "status": str(self.status),
            "providerStatus": self.progress.provider_status,
            "providerMessageId": self.provider_ref,
            "to": self.to,
            "createdAt": self.created_at,
            "updatedAt": self.progress.updated_at or self.created_at,
            "history": list(self.progress.history),
        }
        if self.progress.reason:
            view["reason"] = self.progress.reason
        if self.segments is not None:
            view["segments"] = self.segments
        if self.encoding is not None:
            view["encoding"] = self.encoding
        for name, value in (
            ("priority", self.priority),
            ("campaign", self.campaign),
            ("sendAt", self.send_at),
            ("expiresAt", self.expires_at),
            ("resendOf", self.resend_of),
        ):
            if value is not None:
                view[name] = value
        return view
