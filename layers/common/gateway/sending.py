"""Sending one SMS from a send request: validate, dedupe, rate-limit, send, record.

At most once: before the carrier call the message is marked `sendStartedAt`, and the mark
is cleared only when the call provably sent nothing. A redelivered request that finds the
mark set (the previous invocation died mid-send) is not sent again: it ends `unknown` with
the reason "outcome of send unknown". The same id submitted twice finds its message and
does nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial

import phonenumbers

from gateway.config import OrangeAccount, OrangeConfig
from gateway.countries import BY_REGION, Country
from gateway.lifecycle import StatusUpdate
from gateway.masking import mask_msisdn
from gateway.model import Message, utc_now
from gateway.observability import logger, metrics
from gateway.orange.client import (
    AccountBlocked,
    OrangeClient,
    OrangeError,
    OutboundSms,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TokenRejected,
    Unavailable,
)
from gateway.orange.receipts import PROVIDER
from gateway.ratelimit import RateBudgetExceeded, SlotRateLimiter
from gateway.repository import MessageRepository
from gateway.segments import count_segments
from gateway.send_request import InvalidRequest, SmsRequest, claimed_id, parse_send_request
from gateway.status import Status
from gateway.tokens import TokenStore, TokenUnavailable
from gateway.tracking import StatusTracker

SOURCE = "gateway"
OUTCOME_UNKNOWN = "outcome of send unknown"
# Keep this much of the invocation for recording the result after the carrier answers.
TIME_RESERVE_SECONDS = 5.0
HELD_ACCOUNT_DELAY = 900
RATE_LIMITED_DELAY = 2


class Result(StrEnum):
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DUPLICATE = "duplicate"


class NotSent(Exception):
    """A step before the carrier call failed (a token, a rate slot): nothing went out."""


def _before_the_call[T](step: Callable[[], T]) -> T:
    """Run a step that precedes the carrier call, so that whatever it raises is known to have
    sent nothing: the send mark is cleared and the request retried, never marked unknown."""
    try:
        return step()
    except (OrangeError, TokenUnavailable, RateBudgetExceeded):
        raise
    except Exception as exc:  # re-raised, as sent-nothing: no cause is hidden
        raise NotSent(f"{type(exc).__name__}: {exc}") from exc


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
class Route:
    """Where and how one request goes: the Orange call, its country and account."""

    sms: OutboundSms
    country: Country
    account: OrangeAccount
    segments: int


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


class SmsSender:
    def __init__(
        self,
        *,
        repository: MessageRepository,
        tracker: StatusTracker,
        client: OrangeClient,
        tokens: Callable[[str], TokenStore],
        limiters: Callable[[str], SlotRateLimiter],
        config: OrangeConfig,
        max_attempts: int,
    ) -> None:
        self._repo = repository
        self._tracker = tracker
        self._client = client
        self._tokens = tokens
        self._limiters = limiters
        self._config = config
        self._max_attempts = max_attempts

    def process(self, delivery: Delivery) -> Result:
        try:
            request = parse_send_request(delivery.body)
            message_id = request.id or delivery.fallback_id
            route = self._route(request)
        except InvalidRequest as exc:
            return self._refuse(claimed_id(delivery.body) or delivery.fallback_id, str(exc))
        logger.append_keys(message_id=message_id)
        message = self._claim(message_id, request, route)
        if message is None:
            return Result.DUPLICATE
        if message.send_started_at is not None:
            return self._outcome_unknown(message_id, "the previous attempt died mid-send")
        return self._send(message, route, delivery)

    # ---------------------------------------------------------------- steps
    def _route(self, request: SmsRequest) -> Route:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(request.to))
        country = BY_REGION.get(region or "")
        if country is None:
            raise InvalidRequest(f"to: Orange SMS does not serve this number's country ({region})")
        sms = OutboundSms(
            sender_number=self._config.sender_number(country),
            recipient=request.to,
            text=request.text,
            sender_name=request.sender_name,
            on_net=request.on_net,
        )
        segments = count_segments(request.text)
        return Route(sms, country, self._config.account_for(country), segments)

    def _refuse(self, message_id: str, reason: str) -> Result:
        now = utc_now()
        message = Message.new(
            id=message_id,
            channel="sms",
            to="",
            update=StatusUpdate(Status.FAILED, now, SOURCE, reason=f"invalid request: {reason}"),
        )
        created = self._repo.create(message)
        metrics.add_metric(name="InvalidRequests", unit="Count", value=1)
        logger.warning("invalid send request", message_id=message_id, reason=reason, new=created)
        return Result.FAILED if created else Result.DUPLICATE

    def _claim(self, message_id: str, request: SmsRequest, route: Route) -> Message | None:
        """The message to send (new, or left unsent by a previous attempt); None if done."""
        message = Message.new(
            id=message_id,
            channel="sms",
            to=request.to,
            update=StatusUpdate(Status.ACCEPTED, utc_now(), SOURCE),
            provider=PROVIDER,
            account=route.account.name,
            country=route.country.iso3,
            sender_name=request.sender_name,
            on_net=request.on_net,
            segments=route.segments,
            metadata=dict(request.metadata),
        )
        if not self._repo.create(message):
            stored = self._repo.get(message_id)
            if stored is None or stored.status != Status.ACCEPTED:
                logger.info("send request already handled", status=stored and stored.status)
                return None
            message = stored
        return message

    def _send(self, message: Message, route: Route, delivery: Delivery) -> Result:
        marked = self._mark_sending(message)
        if marked is None:
            logger.info("another invocation is sending this message")
            return Result.DUPLICATE
        try:
            resource_id = self._call_carrier(route, delivery)
        except Rejected as exc:
            return self._finish(marked.id, Status.REJECTED, str(exc), Result.REJECTED)
        except OutcomeUnknown as exc:
            return self._outcome_unknown(marked.id, str(exc))
        except (OrangeError, TokenUnavailable, RateBudgetExceeded, NotSent) as exc:
            # Every other Orange error is a definite refusal: nothing was sent.
            return self._retry_or_fail(marked, exc, delivery)
        self._tracker.record_send(
            marked.id,
            StatusUpdate(Status.SUBMITTED, utc_now(), SOURCE),
            provider=PROVIDER,
            ref=resource_id,
        )
        metrics.add_metric(name="Sent", unit="Count", value=1)
        logger.info(
            "sms submitted",
            to=mask_msisdn(route.sms.recipient),
            account=route.account.name,
            segments=route.segments,
        )
        return Result.SUBMITTED

    def _call_carrier(self, route: Route, delivery: Delivery) -> str:
        """Orange's resource id. A refused token is renewed once; a 403 code 53 waits."""
        tokens = self._tokens(route.account.name)
        limiter = self._limiters(route.account.name)
        cost = route.segments if route.account.bill_per_segment else 1
        token = _before_the_call(tokens.current)
        renewed = False
        while True:
            max_wait = delivery.time_left() - TIME_RESERVE_SECONDS
            _before_the_call(partial(limiter.acquire, max_wait=max_wait, cost=cost))
            try:
                return self._client.send_sms(token.value, route.sms)
            except TokenRejected as exc:
                if renewed:
                    raise Unavailable(f"token refused twice: {exc}") from exc
                token = _before_the_call(partial(tokens.refresh, stale=token.value))
                renewed = True
            except RateLimited:
                # Another client shares the account; the limiter's next slot spaces us out.
                metrics.add_metric(name="CarrierThrottled", unit="Count", value=1)

    def _mark_sending(self, message: Message) -> Message | None:
        marked = replace(message, send_started_at=utc_now(), attempts=message.attempts + 1)
        return marked if self._repo.save(message, marked) else None

    def _retry_or_fail(self, marked: Message, exc: Exception, delivery: Delivery) -> Result:
        reason = str(exc)
        if isinstance(exc, AccountBlocked):
            metrics.add_metric(name="AccountBlocked", unit="Count", value=1)
            delay: int | None = HELD_ACCOUNT_DELAY
        elif isinstance(exc, RateBudgetExceeded):
            delay = RATE_LIMITED_DELAY
        else:
            delay = None
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
