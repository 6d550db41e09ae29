"""Cancelling messages not yet handed to the carrier: one by id, or a whole campaign.

The send mark decides a race with a dispatcher: a message is cancelled only by a write
conditional on the version read while it was `accepted` without a mark, and a dispatcher
claims only an `accepted` message without a mark (which changes its version). Whichever
writes first wins; the other finds the message moved on. A message being sent (marked)
cannot be cancelled: it ends as its send ends.

A campaign is cancelled in three steps, so that none of its messages is sent once the command
returns: (1) the campaign is marked cancelled, which the intake and the dispatchers read, so
a message queued or claimed from now on is cancelled there instead of sent; (2) every message
of the campaign waiting in its lane is cancelled; (3) the ones being sent are waited for (a
send lasts at most the claim's lease), and any that came back to wait is cancelled in turn.
A dispatcher reads the mark at most once a second (`RecentCampaignMarks`): a message it
claims on an older read was claimed before step (2) reached it, so step (3) waits for it.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import Protocol

from gateway.core.lifecycle import StatusUpdate, advance
from gateway.core.model import Message, utc_now
from gateway.core.status import Status
from gateway.core.store import MessageStore
from gateway.core.tracking import SAVE_ATTEMPTS, ConcurrentUpdates
from gateway.observability import logger, metrics

SOURCE = "operator"
REASON = "cancelled by an operator"
CAMPAIGN_REASON = "campaign cancelled by an operator"
SETTLE_POLL_SECONDS = 0.5


class CampaignIndex(Protocol):
    def message_ids(self, campaign: str) -> Iterator[str]:
        """Every message of the campaign (the status of each is read from the message)."""
        ...

    def mark_cancelled(self, campaign: str, at: str) -> None: ...

    def cancelled(self, campaign: str) -> bool:
        """Whether the campaign was cancelled (a strongly consistent read)."""
        ...


class CampaignMarks(Protocol):
    def cancelled(self, campaign: str) -> bool: ...


class RecentCampaignMarks:
    """Campaign marks read at most once per `fresh_for` seconds per campaign: a dispatcher
    sending a campaign's thousands of messages reads its mark once a second, not once per
    message. A cancel is final, so a campaign read cancelled is never read again."""

    def __init__(
        self,
        marks: CampaignMarks,
        *,
        fresh_for: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._marks = marks
        self._fresh_for = fresh_for
        self._clock = clock
        self._read: dict[str, tuple[bool, float]] = {}  # campaign -> (cancelled, read at)

    def cancelled(self, campaign: str) -> bool:
        known = self._read.get(campaign)
        if known is not None and (known[0] or self._clock() - known[1] < self._fresh_for):
            return known[0]
        read_at = self._clock()
        cancelled = self._marks.cancelled(campaign)
        self._read[campaign] = (cancelled, read_at)
        return cancelled


class Cancel(StrEnum):
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    IN_FLIGHT = "in_flight"  # being handed to the carrier right now
    TOO_LATE = "too_late"  # handed to the carrier already, or ended


@dataclass(frozen=True, slots=True)
class Cancelled:
    outcome: Cancel
    message: Message | None = None


@dataclass
class CampaignCancelled:
    campaign: str
    cancelled: int = 0
    too_late: dict[str, int] = field(default_factory=dict)  # status -> messages
    in_flight_left: list[str] = field(default_factory=list)  # not settled in time

    def count(self, result: Cancelled) -> None:
        if result.outcome is Cancel.CANCELLED:
            self.cancelled += 1
        elif result.outcome is Cancel.TOO_LATE and result.message is not None:
            status = str(result.message.status)
            self.too_late[status] = self.too_late.get(status, 0) + 1


type Runner = Callable[[Sequence[Callable[[], None]]], None]


class Canceller:
    def __init__(
        self,
        *,
        store: MessageStore,
        campaigns: CampaignIndex,
        settle_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._campaigns = campaigns
        self._settle = settle_seconds
        self._clock = clock
        self._sleep = sleep

    def campaign_cancelled(self, campaign: str) -> bool:
        return self._campaigns.cancelled(campaign)

    def cancel(self, message_id: str, reason: str = REASON) -> Cancelled:
        """Cancel one message (the API's DELETE, the intake for a cancelled campaign)."""
        result = self._cancel(message_id, reason)
        if result.outcome is Cancel.CANCELLED:
            metrics.add_metric(name="Status_cancelled", unit="Count", value=1)
            logger.info("message cancelled", message_id=message_id)
        return result

    def _cancel(self, message_id: str, reason: str) -> Cancelled:
        update = StatusUpdate(Status.CANCELLED, utc_now(), SOURCE, reason=reason)
        # One write when the message waits (the usual case); a read tells the others apart.
        ended = self._store.end_waiting(message_id, update)
        if ended is not None:
            return Cancelled(Cancel.CANCELLED, ended)
        for _ in range(SAVE_ATTEMPTS):
            message = self._store.get(message_id)
            if message is None:
                return Cancelled(Cancel.NOT_FOUND)
            if message.status != Status.ACCEPTED:
                return Cancelled(Cancel.TOO_LATE, message)
            if message.send_started_at is not None:
                return Cancelled(Cancel.IN_FLIGHT, message)
            progress = advance(message.progress, update) or message.progress
            after = replace(message, progress=progress, final_by=None)
            if self._store.save(message, after):
                return Cancelled(Cancel.CANCELLED, after)
        raise ConcurrentUpdates(message_id)

    def _cancel_into(self, results: dict[str, Cancelled], message_id: str) -> None:
        results[message_id] = self._cancel(message_id, CAMPAIGN_REASON)

    def cancel_campaign(self, campaign: str, runner: Runner) -> CampaignCancelled:
        """Cancel every message of the campaign not yet handed to the carrier; return once
        none of them can still be sent. `runner` runs the per-message cancels (threads: a
        campaign has thousands). It runs from the command line: it logs no line per message
        and counts no metric (the status events count every cancel)."""
        self._campaigns.mark_cancelled(campaign, utc_now())
        summary = CampaignCancelled(campaign)
        pending = list(self._campaigns.message_ids(campaign))
        deadline = self._clock() + self._settle
        while pending:
            results: dict[str, Cancelled] = {}
            runner([partial(self._cancel_into, results, message_id) for message_id in pending])
            for result in results.values():
                summary.count(result)
            pending = [i for i, r in results.items() if r.outcome is Cancel.IN_FLIGHT]
            if pending and self._clock() > deadline:
                summary.in_flight_left = pending
                break
            if pending:
                self._sleep(SETTLE_POLL_SECONDS)
        return summary
