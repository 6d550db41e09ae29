"""Sending one message from a send request, whatever its channel: validate, dedupe, send
through the channel, record.

At most once: before the carrier call the message is marked `sendStartedAt`, and the mark
is cleared only when the call provably sent nothing. A redelivered request that finds the
mark set (the previous invocation died mid-send) is not sent again: it ends `unknown` with
the reason "outcome of send unknown". The same id submitted twice finds its message and
does nothing.

A request is read once (`admit`): the lanes and the send both use that reading. A channel
(Orange SMS, MM7, ...) prepares the send and makes the carrier call (`send`), raising the
outcomes of `gateway.core.carrier_errors`; what each outcome means for the message is decided
here, once, and when a send that sent nothing comes back is `gateway.core.retry`'s decision.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from gateway.core.carrier_errors import AccountBlocked, CarrierError, OutcomeUnknown, Rejected
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now, utc_text
from gateway.core.retry import GiveUp, RetryPolicy
from gateway.core.send_request import (
    InvalidRequest,
    ScheduledRequest,
    SendRequest,
    parse_send_request,
)
from gateway.core.status import Status
from gateway.core.store import MessageStore
from gateway.core.tracking import StatusTracker
from gateway.observability import logger, metrics

SOURCE = "gateway"
OUTCOME_UNKNOWN = "outcome of send unknown"
# Keep this much of the invocation for recording the result after the carrier answers.
TIME_RESERVE_SECONDS = 5.0
# Longer than a sender invocation can live (its timeout): a send mark older than this was
# left by an invocation that died.
DEFAULT_SEND_LEASE_SECONDS = 40.0
INVALID_LANE = "invalid"


class Result(StrEnum):
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One SQS delivery of a send request."""

    body: str
    queue_message_id: str
    receive_count: int
    time_left: Callable[[], float]  # seconds left in the invocation
    queued_at: str | None = None  # when the request was first queued (SQS's SentTimestamp)

    @property
    def fallback_id(self) -> str:
        return f"sqs-{self.queue_message_id}"


@dataclass(frozen=True, slots=True)
class Prepared[R]:
    """A request made ready by its channel: what the message records, the lane it waits in
    (requests in one lane share a carrier limit, an account's rate), and the channel's own
    `route` for its `send`."""

    channel: str
    to: str
    provider: str
    lane: str
    route: R
    fields: Mapping[str, Any] = field(default_factory=dict)  # more Message fields


class Channel[R](Protocol):
    def prepare(self, request: Any) -> Prepared[R]:
        """The request ready to send; InvalidRequest when it can never be sent."""
        ...

    def send(self, prepared: Prepared[R], max_wait: float) -> str:
        """Hand the message to the carrier, waiting at most `max_wait` seconds for a rate
        slot; the carrier's reference. Raises the outcomes of `gateway.core.carrier_errors`."""
        ...


def scheduling(request: SendRequest | None, *, queued_at: str) -> dict[str, str | None]:
    """The Message fields of how a request is scheduled; its validity counts from when it was
    queued."""
    if not isinstance(request, ScheduledRequest):
        return {}
    expires_at = None
    if request.valid_for is not None:
        expires_at = utc_text(
            datetime.fromisoformat(queued_at) + timedelta(seconds=request.valid_for)
        )
    return {
        "priority": request.priority,
        "campaign": request.campaign,
        "send_at": request.send_at,
        "expires_at": expires_at,
    }


@dataclass(frozen=True, slots=True)
class Admission:
    """A send request read once, when its batch arrives: the validated request made ready by
    its channel (country and account resolved), or why it can never be sent."""

    message_id: str
    lane: str
    request: SendRequest | None = None
    prepared: Prepared[Any] | None = None
    invalid: InvalidRequest | None = None


class Sender:
    def __init__(
        self,
        *,
        store: MessageStore,
        tracker: StatusTracker,
        channels: Mapping[str, Channel[Any]],
        retry: RetryPolicy,
        send_lease_seconds: float = DEFAULT_SEND_LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._tracker = tracker
        self._channels = channels
        self._retry = retry
        self._send_lease = send_lease_seconds

    def admit(self, body: str, fallback_id: str) -> Admission:
        """Read a request once: its id, its lane (see `gateway.aws.lanes`: requests for
        different carrier accounts never wait for each other's rate slots) and its send."""
        try:
            request = parse_send_request(body)
        except InvalidRequest as exc:
            return Admission(exc.claimed_id or fallback_id, INVALID_LANE, invalid=exc)
        message_id = request.id or fallback_id
        try:
            prepared = self._channel(request).prepare(request)
        except InvalidRequest as exc:
            exc.claimed_channel = request.channel
            return Admission(message_id, INVALID_LANE, request=request, invalid=exc)
        return Admission(message_id, prepared.lane, request, prepared)

    def process(self, delivery: Delivery, admission: Admission | None = None) -> Result:
        """Send one delivered request (read here unless the batch already `admit`ted it)."""
        admission = admission or self.admit(delivery.body, delivery.fallback_id)
        # Thread-local: the sender's lanes log for several messages at once.
        logger.thread_safe_append_keys(correlation_id=admission.message_id)
        if admission.invalid is not None or admission.prepared is None:
            return self._refuse(admission)
        prepared = admission.prepared
        created = self._create_marked(admission, prepared, delivery)
        if created is not None:
            return self._send(created, prepared, delivery)
        stored = self._store.get(admission.message_id)
        if stored is None or stored.status != Status.ACCEPTED:
            logger.info("send request already handled", status=stored and stored.status)
            return Result.DUPLICATE
        if stored.send_started_at is not None:
            return self._interrupted(stored)
        marked = self._mark_sending(stored)
        if marked is None:
            logger.info("another invocation is sending this message")
            return Result.DUPLICATE
        return self._send(marked, prepared, delivery)

    def _interrupted(self, message: Message) -> Result:
        """The send mark is set: another invocation is sending it right now (SQS redelivered
        the request early), or one died mid-send. Only an invocation's timeout tells them
        apart: until the lease has run out, wait without using an attempt."""
        started = datetime.fromisoformat(message.send_started_at or "")
        age = (datetime.now(UTC) - started).total_seconds()
        if age < self._send_lease:
            raise self._retry.while_another_sends(message.id, self._send_lease - age)
        return self._outcome_unknown(message.id, "the previous attempt died mid-send")

    # ---------------------------------------------------------------- steps
    def _channel(self, request: SendRequest) -> Channel[Any]:
        channel = self._channels.get(request.channel)
        if channel is None:
            raise InvalidRequest(f"channel: {request.channel!r} is not configured here")
        return channel

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

    def _create_marked(
        self, admission: Admission, prepared: Prepared[Any], delivery: Delivery
    ) -> Message | None:
        """A new message, stored already marked as being sent (one write, not two); None
        when the id is known (a redelivery, or the same id submitted again)."""
        request = admission.request
        now = utc_now()
        message = Message.new(
            id=admission.message_id,
            channel=prepared.channel,
            to=prepared.to,
            update=StatusUpdate(Status.ACCEPTED, now, SOURCE),
            provider=prepared.provider,
            metadata=dict(request.metadata) if request else {},
            **scheduling(request, queued_at=delivery.queued_at or now),
            **prepared.fields,
        )
        marked = replace(message, send_started_at=utc_now(), attempts=1)
        return marked if self._store.create(marked) else None

    def _send(self, marked: Message, prepared: Prepared[Any], delivery: Delivery) -> Result:
        now = utc_now()
        if marked.expires_at is not None and marked.expires_at <= now:
            reason = f"not handed to the carrier within its validity (expired {marked.expires_at})"
            return self._finish(marked.id, Status.EXPIRED, reason, Result.EXPIRED)
        if marked.send_at is not None and now < marked.send_at:
            self._tracker.touch(marked.id, send_started_at=None)
            raise self._retry.until(marked.id, marked.send_at, now)
        try:
            channel = self._channels[prepared.channel]
            reference = channel.send(prepared, delivery.time_left() - TIME_RESERVE_SECONDS)
        except Rejected as exc:
            return self._finish(marked.id, Status.REJECTED, str(exc), Result.REJECTED)
        except OutcomeUnknown as exc:
            return self._outcome_unknown(marked.id, str(exc))
        except CarrierError as exc:
            # Every other outcome is a definite refusal or a failure before the call.
            return self._retry_or_fail(marked, exc, delivery)
        self._tracker.record_send(
            marked,
            StatusUpdate(Status.SUBMITTED, utc_now(), SOURCE),
            provider=prepared.provider,
            ref=reference,
        )
        metrics.add_metric(name="Sent", unit="Count", value=1)
        logger.info("message submitted", channel=prepared.channel, provider=prepared.provider)
        return Result.SUBMITTED

    def _mark_sending(self, message: Message) -> Message | None:
        marked = replace(message, send_started_at=utc_now(), attempts=message.attempts + 1)
        return marked if self._store.save(message, marked) else None

    def _retry_or_fail(self, marked: Message, exc: CarrierError, delivery: Delivery) -> Result:
        decision = self._retry.after_failure(marked, exc, delivery.receive_count, utc_now())
        if isinstance(decision, GiveUp):
            return self._finish(
                marked.id, decision.status, decision.reason, Result(decision.status)
            )
        if isinstance(exc, AccountBlocked):
            metrics.add_metric(name="AccountBlocked", unit="Count", value=1)
        self._tracker.apply(
            marked.id,
            StatusUpdate(Status.ACCEPTED, utc_now(), SOURCE, reason=str(exc)),
            send_started_at=None,
        )
        logger.warning("send postponed", reason=str(exc), attempt=delivery.receive_count)
        raise decision from exc

    def _finish(self, message_id: str, status: Status, reason: str, result: Result) -> Result:
        self._tracker.apply(
            message_id,
            StatusUpdate(status, utc_now(), SOURCE, reason=reason),
            send_started_at=None,
        )
        metrics.add_metric(name=str(result).capitalize(), unit="Count", value=1)
        logger.warning("send ended", status=status, reason=reason)
        return result

    def _outcome_unknown(self, message_id: str, detail: str) -> Result:
        return self._finish(
            message_id, Status.UNKNOWN, f"{OUTCOME_UNKNOWN}: {detail}", Result.UNKNOWN
        )
