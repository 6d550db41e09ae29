"""Sending one message, whatever its channel: a request read once when it is queued
(`admit`), then, when its turn in its lane comes and it was claimed, handed to its channel
and the outcome recorded (`send`).

At most once: the claim marks the message `sendStartedAt` before the carrier call, and the
mark is cleared only when the call provably sent nothing. A message whose mark is set is never
claimed again: if its sender died mid-send, the sweep ends it `unknown` with the reason
"outcome of send unknown" once the claim's deadline passed.

A channel (Orange SMS, MM7, ...) prepares the send and makes the carrier call (`send`),
raising the outcomes of `gateway.core.carrier_errors`; what each outcome means for the message
is decided here, once, and when a send that sent nothing is tried again is
`gateway.core.retry`'s decision.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from gateway.core.cancelling import CAMPAIGN_REASON, CampaignMarks
from gateway.core.carrier_errors import AccountBlocked, CarrierError, OutcomeUnknown, Rejected
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now, utc_text
from gateway.core.retry import GiveUp, RetryPolicy
from gateway.core.send_request import (
    PRIORITIES,
    InvalidRequest,
    ScheduledRequest,
    SendRequest,
    parse_send_request,
)
from gateway.core.status import Status
from gateway.core.store import QueueEntry
from gateway.core.tracking import StatusTracker
from gateway.observability import logger, metrics

SOURCE = "gateway"
OUTCOME_UNKNOWN = "outcome of send unknown"
# Keep this much of the invocation for recording the result after the carrier answers.
TIME_RESERVE_SECONDS = 5.0
INVALID_LANE = "invalid"


class Result(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    LATER = "later"  # nothing was sent: the message waits in its lane again
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a send request: an SQS message, or one request of a `POST /messages`
    (`queue_message_id` then the API's request id)."""

    body: str
    queue_message_id: str
    queued_at: str  # when the request was first queued (SQS's SentTimestamp, the HTTP arrival)

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
        """Hand the message to the carrier within `max_wait` seconds in all, rate slot and
        calls included (`Deadline`: OutOfTime before a call that might not end in time); the
        carrier's reference. Raises the outcomes of `gateway.core.carrier_errors`."""
        ...


@dataclass(frozen=True, slots=True)
class Admission:
    """A send request read once, when it is queued: the validated request made ready by its
    channel (country and account resolved), or why it can never be sent."""

    message_id: str
    lane: str
    request: SendRequest | None = None
    prepared: Prepared[Any] | None = None
    invalid: InvalidRequest | None = None


@dataclass(frozen=True, slots=True)
class Later:
    """Nothing was sent: the message waits in its lane until `due_at`."""

    due_at: str
    reason: str


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


def priority_of(message: Message) -> str:
    """The message's priority, one of PRIORITIES: `normal` for a request that takes none (an
    Orange PL registration)."""
    priority = message.priority
    return priority if priority is not None and priority in PRIORITIES else "normal"


def queue_entry(message: Message, lane: str) -> QueueEntry:
    """Where a message waits in its lane: by priority (high, normal, bulk), then oldest."""
    rank = PRIORITIES.index(priority_of(message))
    return QueueEntry(lane, message.id, f"{rank}#{message.created_at}#{message.id}")


class Sender:
    def __init__(
        self,
        *,
        tracker: StatusTracker,
        channels: Mapping[str, Channel[Any]],
        retry: RetryPolicy,
        campaigns: CampaignMarks | None = None,
    ) -> None:
        self._tracker = tracker
        self._channels = channels
        self._retry = retry
        self._campaigns = campaigns

    def admit(self, body: str, fallback_id: str) -> Admission:
        """Read a request once: its id, its lane (requests for different carrier accounts never
        wait for each other) and its send, or why it can never be sent."""
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

    def send(self, claimed: Message, time_left: Callable[[], float]) -> Result | Later:
        """Hand a claimed message (its send mark set) to its carrier and record what came of
        it; `Later` when nothing was sent and it is to wait in its lane again."""
        logger.thread_safe_append_keys(correlation_id=claimed.id)
        ended = self._ended_unsent(claimed)
        if ended is not None:
            return ended
        admission = self.admit(claimed.request or "", claimed.id)
        if admission.prepared is None:
            # Valid when queued: the gateway's configuration changed since (a channel removed).
            reason = f"invalid request: {admission.invalid}"
            return self._finish(claimed.id, Status.FAILED, reason, Result.FAILED)
        prepared = admission.prepared
        try:
            channel = self._channels[prepared.channel]
            reference = channel.send(prepared, time_left() - TIME_RESERVE_SECONDS)
        except Rejected as exc:
            return self._finish(claimed.id, Status.REJECTED, str(exc), Result.REJECTED)
        except OutcomeUnknown as exc:
            return self._outcome_unknown(claimed.id, str(exc))
        except CarrierError as exc:
            # Every other outcome is a definite refusal or a failure before the call.
            return self._retry_or_expire(claimed, exc)
        self._tracker.record_send(
            claimed,
            StatusUpdate(Status.SUBMITTED, utc_now(), SOURCE),
            provider=prepared.provider,
            ref=reference,
        )
        metrics.add_metric(name="Sent", unit="Count", value=1)
        logger.info("message submitted", channel=prepared.channel, provider=prepared.provider)
        return Result.SUBMITTED

    def _ended_unsent(self, claimed: Message) -> Result | None:
        """How a claimed message ends without a send (its validity ran out, its campaign was
        cancelled); None when it is to be sent."""
        if claimed.expires_at is not None and claimed.expires_at <= utc_now():
            reason = f"not handed to the carrier within its validity (expired {claimed.expires_at})"
            return self._finish(claimed.id, Status.EXPIRED, reason, Result.EXPIRED)
        if claimed.campaign and self._campaigns and self._campaigns.cancelled(claimed.campaign):
            return self._finish(claimed.id, Status.CANCELLED, CAMPAIGN_REASON, Result.CANCELLED)
        return None

    def _channel(self, request: SendRequest) -> Channel[Any]:
        channel = self._channels.get(request.channel)
        if channel is None:
            raise InvalidRequest(f"channel: {request.channel!r} is not configured here")
        return channel

    def _retry_or_expire(self, claimed: Message, exc: CarrierError) -> Result | Later:
        now = utc_now()
        decision = self._retry.after_failure(claimed, exc, now)
        if isinstance(decision, GiveUp):
            return self._finish(
                claimed.id, decision.status, decision.reason, Result(decision.status)
            )
        if isinstance(exc, AccountBlocked):
            metrics.add_metric(name="AccountBlocked", unit="Count", value=1)
        elif decision.counted:
            metrics.add_metric(name="CarrierFailures", unit="Count", value=1)
        self._tracker.apply(
            claimed.id,
            StatusUpdate(Status.ACCEPTED, now, SOURCE, reason=str(exc)),
            send_started_at=None,
            final_by=None,
            # A wait (held account, rate used up) gives back the attempt its claim took.
            attempts=claimed.attempts if decision.counted else claimed.attempts - 1,
        )
        logger.warning("send postponed", reason=str(exc), attempt=claimed.attempts)
        due = utc_text(datetime.fromisoformat(now) + timedelta(seconds=decision.delay))
        # Looked at again by its deadline at the latest, to end it then rather than later.
        return Later(min(due, self._retry.deadline(claimed)), str(exc))

    def _finish(self, message_id: str, status: Status, reason: str, result: Result) -> Result:
        self._tracker.apply(
            message_id,
            StatusUpdate(status, utc_now(), SOURCE, reason=reason),
            send_started_at=None,
            final_by=None,
        )
        metrics.add_metric(name=str(result).capitalize(), unit="Count", value=1)
        logger.warning("send ended", status=status, reason=reason)
        return result

    def _outcome_unknown(self, message_id: str, detail: str) -> Result:
        return self._finish(
            message_id, Status.UNKNOWN, f"{OUTCOME_UNKNOWN}: {detail}", Result.UNKNOWN
        )
