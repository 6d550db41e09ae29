"""Sending one message from a send request, whatever its channel: validate, dedupe, send
through the channel, record.

At most once: before the carrier call the message is marked `sendStartedAt`, and the mark
is cleared only when the call provably sent nothing. A redelivered request that finds the
mark set (the previous invocation died mid-send) is not sent again: it ends `unknown` with
the reason "outcome of send unknown". The same id submitted twice finds its message and
does nothing.

A channel (Orange SMS, MM7, ...) only prepares its call and raises the outcomes of
`gateway.core.carrier_errors`; what each outcome means for the message is decided here, once.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from gateway.aws.message_store import MessageRepository
from gateway.core.carrier_errors import (
    AccountBlocked,
    CarrierError,
    OutcomeUnknown,
    Rejected,
    Throttled,
)
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now
from gateway.core.send_request import (
    InvalidRequest,
    SendRequest,
    claimed_channel,
    claimed_id,
    parse_send_request,
)
from gateway.core.status import Status
from gateway.core.tracking import StatusTracker
from gateway.observability import logger, metrics

SOURCE = "gateway"
OUTCOME_UNKNOWN = "outcome of send unknown"
# Keep this much of the invocation for recording the result after the carrier answers.
TIME_RESERVE_SECONDS = 5.0
# Longer than a sender invocation can live (its timeout): a send mark older than this was
# left by an invocation that died.
DEFAULT_SEND_LEASE_SECONDS = 40.0
HELD_ACCOUNT_DELAY = 900
THROTTLED_DELAY = 2


class Result(StrEnum):
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"


class RetryLater(Exception):
    """Nothing was sent; deliver the request again after `delay` seconds (None: backoff).

    A `counted` retry uses one of the request's attempts (the carrier failed); one that is
    not (the account is held, the rate is used up) must not move the request closer to the
    dead-letter queue: the caller queues it anew under `message_id` instead.
    """

    def __init__(
        self, reason: str, *, message_id: str, delay: int | None = None, counted: bool = True
    ) -> None:
        super().__init__(reason)
        self.message_id = message_id
        self.delay = delay
        self.counted = counted


@dataclass(frozen=True, slots=True)
class Delivery:
    """One SQS delivery of a send request."""

    body: str
    queue_message_id: str
    receive_count: int
    time_left: Callable[[], float]  # seconds left in the invocation

    @property
    def fallback_id(self) -> str:
        return f"sqs-{self.queue_message_id}"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request made ready by its channel: what the message records, and the carrier call
    (given the seconds it may wait, it returns the carrier's reference)."""

    channel: str
    to: str
    provider: str
    call: Callable[[float], str]
    fields: Mapping[str, Any] = field(default_factory=dict)  # more Message fields


class Channel(Protocol):
    def prepare(self, request: Any) -> Prepared:
        """The request ready to send; InvalidRequest when it can never be sent."""
        ...

    def lane(self, request: Any) -> str:
        """Requests in one lane share a carrier limit (an account's rate)."""
        ...


class Sender:
    def __init__(
        self,
        *,
        repository: MessageRepository,
        tracker: StatusTracker,
        channels: Mapping[str, Channel],
        max_attempts: int,
        send_lease_seconds: float = DEFAULT_SEND_LEASE_SECONDS,
    ) -> None:
        self._repo = repository
        self._tracker = tracker
        self._channels = channels
        self._max_attempts = max_attempts
        self._send_lease = send_lease_seconds

    def lane(self, body: str) -> str:
        """The lane of a batch this request travels in (see `gateway.aws.lanes`): requests for
        different carrier accounts never wait for each other's rate slots."""
        try:
            request = parse_send_request(body)
            return self._channel(request).lane(request)
        except InvalidRequest:
            return "invalid"

    def process(self, delivery: Delivery) -> Result:
        try:
            request = parse_send_request(delivery.body)
            message_id = request.id or delivery.fallback_id
            # Thread-local: the sender's lanes log for several messages at once.
            logger.thread_safe_append_keys(correlation_id=message_id)
            prepared = self._channel(request).prepare(request)
        except InvalidRequest as exc:
            return self._refuse(delivery, str(exc))
        created = self._create_marked(message_id, request, prepared)
        if created is not None:
            return self._send(created, prepared, delivery)
        stored = self._repo.get(message_id)
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
            raise RetryLater(
                "another invocation may still be sending it",
                message_id=message.id,
                delay=math.ceil(self._send_lease - age) + 1,
                counted=False,
            )
        return self._outcome_unknown(message.id, "the previous attempt died mid-send")

    # ---------------------------------------------------------------- steps
    def _channel(self, request: SendRequest) -> Channel:
        channel = self._channels.get(request.channel)
        if channel is None:
            raise InvalidRequest(f"channel: {request.channel!r} is not configured here")
        return channel

    def _refuse(self, delivery: Delivery, reason: str) -> Result:
        message_id = claimed_id(delivery.body) or delivery.fallback_id
        logger.thread_safe_append_keys(correlation_id=message_id)
        message = Message.new(
            id=message_id,
            channel=claimed_channel(delivery.body) or "unknown",
            to="",
            update=StatusUpdate(
                Status.FAILED, utc_now(), SOURCE, reason=f"invalid request: {reason}"
            ),
        )
        created = self._repo.create(message)
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        logger.warning("invalid send request", reason=reason, new=created)
        return Result.FAILED if created else Result.DUPLICATE

    def _create_marked(
        self, message_id: str, request: SendRequest, prepared: Prepared
    ) -> Message | None:
        """A new message, stored already marked as being sent (one write, not two); None
        when the id is known (a redelivery, or the same id submitted again)."""
        message = Message.new(
            id=message_id,
            channel=prepared.channel,
            to=prepared.to,
            update=StatusUpdate(Status.ACCEPTED, utc_now(), SOURCE),
            provider=prepared.provider,
            metadata=dict(request.metadata),
            **prepared.fields,
        )
        marked = replace(message, send_started_at=utc_now(), attempts=1)
        return marked if self._repo.create(marked) else None

    def _send(self, marked: Message, prepared: Prepared, delivery: Delivery) -> Result:
        try:
            reference = prepared.call(delivery.time_left() - TIME_RESERVE_SECONDS)
        except Rejected as exc:
            return self._finish(marked.id, Status.REJECTED, str(exc), Result.REJECTED)
        except OutcomeUnknown as exc:
            return self._outcome_unknown(marked.id, str(exc))
        except CarrierError as exc:
            # Every other outcome is a definite refusal or a failure before the call.
            return self._retry_or_fail(marked, exc, delivery)
        self._tracker.record_send(
            marked.id,
            StatusUpdate(Status.SUBMITTED, utc_now(), SOURCE),
            provider=prepared.provider,
            ref=reference,
        )
        metrics.add_metric(name="Sent", unit="Count", value=1)
        logger.info("message submitted", channel=prepared.channel, provider=prepared.provider)
        return Result.SUBMITTED

    def _mark_sending(self, message: Message) -> Message | None:
        marked = replace(message, send_started_at=utc_now(), attempts=message.attempts + 1)
        return marked if self._repo.save(message, marked) else None

    def _retry_or_fail(self, marked: Message, exc: CarrierError, delivery: Delivery) -> Result:
        reason = str(exc)
        delay: int | None = None
        if isinstance(exc, AccountBlocked):
            metrics.add_metric(name="AccountBlocked", unit="Count", value=1)
            delay = HELD_ACCOUNT_DELAY
        elif isinstance(exc, Throttled):
            delay = THROTTLED_DELAY
        counted = delay is None
        if counted and delivery.receive_count >= self._max_attempts:
            return self._finish(
                marked.id,
                Status.FAILED,
                f"gave up after {delivery.receive_count} attempts: {reason}",
                Result.FAILED,
            )
        self._tracker.apply(
            marked.id,
            StatusUpdate(Status.ACCEPTED, utc_now(), SOURCE, reason=reason),
            send_started_at=None,
        )
        logger.warning("send postponed", reason=reason, attempt=delivery.receive_count)
        raise RetryLater(reason, message_id=marked.id, delay=delay, counted=counted) from exc

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
