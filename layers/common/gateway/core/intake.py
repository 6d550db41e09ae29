"""Intake: a send request from the queue recorded once, as an `accepted` message waiting in
its lane, ready now or due at its `sendAt`. The queue is never where a backlog waits: a lane's
dispatcher (`gateway.core.dispatching`) picks its messages by priority, at its carrier's rate,
so one account's backlog never stands in front of another account's messages, and a `high`
message never stands behind `bulk` ones.

An invalid request ends `failed` with its reason, and so does an SMS to a number of a type
the gateway does not send SMS to (a fixed line: Orange sends SMS to mobiles), told here from
phonenumbers' plan rather than learnt from a send and a receipt. MMS are not checked: the MMSC
routes them with its own knowledge of the numbers, and what it cannot deliver ends `rejected`
or `undelivered`. The same id queued twice is one message;
queued again while it still waits, it is put back in its lane (the same place: harmless), so a
crash between the two writes leaves nothing behind.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from gateway.core.cancelling import CAMPAIGN_REASON, Canceller
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now
from gateway.core.segments import encoding
from gateway.core.send_request import (
    SMS_NUMBER_TYPES,
    InvalidRequest,
    ScheduledRequest,
    SmsRequest,
    require_number_type,
)
from gateway.core.sending import (
    INVALID_LANE,
    Admission,
    Delivery,
    Result,
    queue_entry,
    scheduling,
)
from gateway.core.status import Status
from gateway.core.store import LaneQueue, MessageStore
from gateway.observability import logger, metrics

SOURCE = "gateway"


@dataclass(frozen=True, slots=True)
class Queued:
    result: Result
    lane: str | None = None  # the lane to wake: it has a message ready now
    due_at: str | None = None  # or, for a message due later, when


@dataclass
class Wakes:
    """The lanes a batch of intakes put messages in: each woken once, after the batch
    (`gateway.aws.dispatch_queue.DispatchQueue.wake_all`)."""

    now: set[str] = field(default_factory=set)
    later: dict[str, str] = field(default_factory=dict)  # lane -> its earliest due time

    def add(self, queued: Queued) -> None:
        if queued.lane is None:
            return
        if queued.due_at is None:
            self.now.add(queued.lane)
        else:
            self.later[queued.lane] = min(queued.due_at, self.later.get(queued.lane, "~"))


class Intake:
    def __init__(
        self,
        *,
        store: MessageStore,
        queue: LaneQueue,
        canceller: Canceller | None = None,
        sms_number_types: Collection[str] = SMS_NUMBER_TYPES,
    ) -> None:
        self._store = store
        self._queue = queue
        self._canceller = canceller
        self._sms_number_types = sms_number_types

    def receive(self, delivery: Delivery, admission: Admission) -> Queued:
        # Thread-local: log lines of this request carry its id.
        logger.thread_safe_append_keys(correlation_id=admission.message_id)
        admission = self.check(admission)
        if admission.invalid is not None or admission.prepared is None:
            return Queued(self._refuse(admission))
        prepared = admission.prepared
        request = admission.request
        message = Message.new(
            id=admission.message_id,
            channel=prepared.channel,
            to=prepared.to,
            update=StatusUpdate(Status.ACCEPTED, utc_now(), SOURCE),
            provider=prepared.provider,
            request=delivery.body,
            metadata=dict(request.metadata) if request else {},
            encoding=encoding(request.text) if isinstance(request, SmsRequest) else None,
            resend_of=request.resend_of if isinstance(request, ScheduledRequest) else None,
            **scheduling(request, queued_at=delivery.queued_at),
            **prepared.fields,
        )
        result = Result.QUEUED
        if not self._store.create(message):
            stored = self._store.get(message.id)
            if stored is None or stored.status != Status.ACCEPTED or stored.send_started_at:
                logger.info("send request already handled", status=stored and stored.status)
                return Queued(Result.DUPLICATE)
            message, result = stored, Result.DUPLICATE  # still waiting: back in its lane
        if self._campaign_cancelled(message):
            return Queued(Result.CANCELLED)
        entry = queue_entry(message, prepared.lane)
        now = utc_now()
        if message.send_at is not None and message.send_at > now:
            self._queue.push(entry, due_at=message.send_at)
            logger.info("message scheduled", lane=prepared.lane, send_at=message.send_at)
            return Queued(result, prepared.lane, message.send_at)
        self._queue.push(entry)
        metrics.add_metric(name="Queued", unit="Count", value=1)
        logger.info("message queued", lane=prepared.lane, priority=message.priority)
        return Queued(result, prepared.lane)

    def check(self, admission: Admission) -> Admission:
        """The admission, or, for an SMS to a number of a type not sent to, why not."""
        request = admission.request
        if admission.prepared is None or not isinstance(request, SmsRequest):
            return admission
        try:
            require_number_type(request.to, self._sms_number_types)
        except InvalidRequest as exc:
            exc.claimed_channel = request.channel
            return replace(admission, lane=INVALID_LANE, prepared=None, invalid=exc)
        return admission

    def _campaign_cancelled(self, message: Message) -> bool:
        """Its campaign was cancelled: cancel it here. Written first, read second (the
        canceller marks the campaign first, then reads its messages), so that a message
        queued during a campaign's cancel is seen by one side or the other."""
        if not (message.campaign and self._canceller):
            return False
        if not self._canceller.campaign_cancelled(message.campaign):
            return False
        self._canceller.cancel(message.id, CAMPAIGN_REASON)
        return True

    def _refuse(self, admission: Admission) -> Result:
        reason = str(admission.invalid)
        message = Message.new(
            id=admission.message_id,
            channel=(admission.invalid and admission.invalid.claimed_channel) or "unknown",
            to="",
            update=StatusUpdate(
                Status.FAILED, utc_now(), SOURCE, reason=f"invalid request: {reason}"
            ),
        )
        created = self._store.create(message)
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        logger.warning("invalid send request", reason=reason, new=created)
        return Result.FAILED if created else Result.DUPLICATE
