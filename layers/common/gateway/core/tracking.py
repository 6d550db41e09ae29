"""Applying status updates to stored messages: receipts from any carrier and the gateway's own.

A receipt names the carrier's reference, not our id. If the send that produced the
reference is not recorded yet (the receipt beat the sender's write), the receipt is kept as
early; both sides write first and look second, so whichever comes last applies it. Should the
sender die between recording its send and applying what was kept, the sweep (every 5
minutes) applies the receipts kept longer than STRANDED_AFTER whose send is recorded.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from gateway.core.lifecycle import StatusUpdate, advance
from gateway.core.model import Message, utc_now, utc_text
from gateway.core.status import Status
from gateway.core.store import MessageStore
from gateway.observability import logger, metrics

SAVE_ATTEMPTS = 8
# A message the carrier has with no final receipt after this long ends unknown.
FINAL_RECEIPT_WITHIN = timedelta(hours=72)
NO_FINAL_RECEIPT = "no final receipt"
# A sender applies what was kept for its send within moments of recording it: a receipt kept
# this long whose send is recorded was left behind by a sender that died in between.
STRANDED_AFTER = timedelta(minutes=2)
DIED_MID_SEND = "outcome of send unknown: the sender died mid-send"


class Applied(StrEnum):
    CHANGED = "changed"  # the status moved
    RECORDED = "recorded"  # kept in the history, the status stays (lower rank or final)
    DUPLICATE = "duplicate"
    EARLY = "early"  # no message for this reference yet: kept until the send is recorded
    NOT_FOUND = "not_found"


class ConcurrentUpdates(Exception):
    """The message kept changing under us; the caller's retry (carrier or SQS) comes back."""


class StatusTracker:
    def __init__(self, store: MessageStore) -> None:
        self._store = store

    def apply(self, message_id: str, update: StatusUpdate, **changes: Any) -> Applied:
        """Apply `update` (and set `changes` on the message in the same write)."""
        return self._update(message_id, update, changes, self._store.save)

    def record_send(self, sent: Message, update: StatusUpdate, *, provider: str, ref: str) -> None:
        """Store the carrier's acceptance with its reference, then any receipt that beat it.
        `sent` is the message as the sender last wrote it: read again only if it moved on."""
        changes = {
            "provider": provider,
            "provider_ref": ref,
            "send_started_at": None,
            "final_by": utc_now(after=FINAL_RECEIPT_WITHIN),
        }
        self._update(sent.id, update, changes, self._store.save_with_ref, known=sent)
        self.apply_early(provider, ref, sent.id)

    def apply_receipt(self, provider: str, ref: str, update: StatusUpdate) -> Applied:
        message_id = self._store.message_id_for_ref(provider, ref)
        if message_id is not None:
            logger.set_correlation_id(message_id)
            return self.apply(message_id, update)
        self._store.keep_early(provider, ref, update, utc_now())
        message_id = self._store.message_id_for_ref(provider, ref)
        if message_id is None:
            logger.info("receipt kept until its send is recorded", provider=provider)
            return Applied.EARLY
        logger.set_correlation_id(message_id)
        # The send was recorded between our two reads: apply what is kept, ours included.
        outcomes = self.apply_early(provider, ref, message_id)
        return outcomes[-1] if outcomes else Applied.DUPLICATE

    def apply_early(self, provider: str, ref: str, message_id: str) -> list[Applied]:
        """Apply, then drop, the receipts kept for `ref`, oldest first."""
        outcomes = []
        for sk, update in self._store.early_updates(provider, ref):
            outcomes.append(self.apply(message_id, update))
            self._store.drop_early(provider, ref, sk)
        if outcomes:
            logger.info("early receipts applied", count=len(outcomes))
        return outcomes

    def apply_stranded(self, now: str) -> int:
        """Apply the receipts kept since before `now - STRANDED_AFTER` whose send is now
        recorded (its sender died before applying them); how many were applied. A receipt
        whose send is still not recorded stays kept (until its retention ends)."""
        before = utc_text(datetime.fromisoformat(now) - STRANDED_AFTER)
        applied = 0
        for provider, ref in self._store.kept_before(before):
            message_id = self._store.message_id_for_ref(provider, ref)
            if message_id is not None:
                applied += len(self.apply_early(provider, ref, message_id))
        if applied:
            metrics.add_metric(name="StrandedReceiptsApplied", unit="Count", value=applied)
            logger.info("stranded receipts applied", count=applied)
        return applied

    def sweep_overdue(self, now: str) -> int:
        """Messages past their deadline: one the carrier has, still without a final receipt,
        ends unknown (or, above unknown in rank, keeps its status with the sweep in its
        history); one whose claim ran out while it was being sent (its sender died mid-send)
        ends unknown too, never sent again. How many.

        A message that cannot be written does not stop the sweep: it is logged and counted
        (`SweepFailures`), the others are swept, and then an ExceptionGroup of the failures
        is raised, so that the invocation fails where it is watched (the function's errors);
        the failed ones stay in the deadline index for the next sweep."""
        swept = 0
        failures: list[Exception] = []
        for message_id in self._store.overdue(now):
            try:
                message = self._store.get(message_id)
                reason = NO_FINAL_RECEIPT
                if message is not None and message.status == Status.ACCEPTED:
                    reason = DIED_MID_SEND
                update = StatusUpdate(Status.UNKNOWN, now, "gateway", reason=reason)
                self.apply(message_id, update, final_by=None, send_started_at=None)
            except Exception as exc:  # whatever one message's failure, the others are swept
                # The id and the error's type: no phone number, no item in the message.
                logger.error(
                    "overdue message not swept", message_id=message_id, error=type(exc).__name__
                )
                failures.append(exc)
                continue
            swept += 1
        if swept:
            metrics.add_metric(name="NoFinalReceipt", unit="Count", value=swept)
            logger.info("overdue messages swept", count=swept)
        if failures:
            metrics.add_metric(name="SweepFailures", unit="Count", value=len(failures))
            raise ExceptionGroup(f"{len(failures)} overdue messages not swept", failures)
        return swept

    def touch(self, message_id: str, **changes: Any) -> None:
        """Set `changes` on the message, its status and history untouched."""
        self._update(message_id, None, changes, self._store.save)

    def _update(
        self,
        message_id: str,
        update: StatusUpdate | None,
        changes: dict[str, Any],
        save: Callable[[Message, Message], bool],
        known: Message | None = None,
    ) -> Applied:
        for _ in range(SAVE_ATTEMPTS):
            message, known = known or self._store.get(message_id), None
            if message is None:
                return Applied.NOT_FOUND
            progress = advance(message.progress, update) if update else None
            if progress is None and not changes:
                return Applied.DUPLICATE
            after = replace(message, progress=progress or message.progress, **changes)
            if save(message, after):
                if progress is None:
                    return Applied.DUPLICATE
                if progress.status == message.status:
                    return Applied.RECORDED
                metrics.add_metric(name=f"Status_{progress.status}", unit="Count", value=1)
                return Applied.CHANGED
        raise ConcurrentUpdates(message_id)
