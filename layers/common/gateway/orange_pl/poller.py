"""The Orange Poland status poller: one round reads the call limit, then polls the MMS in
flight that are due, oldest first, no more than the limit allows, and schedules each one's
next poll with backoff (about 1, 2, 5, 10, 30 minutes, then hourly) until its status settles.
The 72-hour end is the sweeper's ("no final receipt"), as for every channel."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from gateway.aws.message_store import MessageRepository
from gateway.core.carrier_errors import CarrierError
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import utc_now
from gateway.core.tracking import StatusTracker
from gateway.observability import logger, metrics
from gateway.orange.client import RateLimited, TokenRejected
from gateway.orange.tokens import TokenStore
from gateway.orange_pl.client import OrangePlClient
from gateway.orange_pl.statuses import normalise, settled

SOURCE = "orange-pl-poll"
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
THEN_EVERY = timedelta(hours=1)
ROUND_MAX = 200  # when the limit is "unlimited": what one invocation polls at most


def backoff(polls: int, scale: float = 1.0) -> timedelta:
    """How long after the `polls`-th poll (0: the registration) the next one comes."""
    return (BACKOFF[polls] if polls < len(BACKOFF) else THEN_EVERY) * scale


@dataclass
class Round:
    due: int = 0
    polled: int = 0
    changed: int = 0
    limit_reached: bool = False
    errors: list[str] = field(default_factory=list)


class StatusPoller:
    def __init__(
        self,
        *,
        repository: MessageRepository,
        tracker: StatusTracker,
        client: OrangePlClient,
        tokens: TokenStore,
        backoff_scale: float = 1.0,
    ) -> None:
        self._repo = repository
        self._tracker = tracker
        self._client = client
        self._tokens = tokens
        self._scale = backoff_scale

    def run_round(self) -> Round:
        result = Round()
        token = self._tokens.current().value
        try:
            limit = self._call(self._client.call_limit, token)
        except RateLimited:
            return self._limit_reached(result)
        budget = ROUND_MAX if limit.available is None else min(ROUND_MAX, limit.available)
        due = self._repo.due_polls(utc_now(), budget)
        result.due = len(due)
        for message_id, reference, polls in due:
            try:
                raw = self._call(partial(self._client.delivery_status, message_id=reference), token)
            except RateLimited:
                return self._limit_reached(result)
            except CarrierError as exc:
                result.errors.append(str(exc))
                self._reschedule(message_id, polls)
                continue
            result.polled += 1
            result.changed += self._apply(message_id, raw, polls)
        logger.info("orange pl round", due=result.due, polled=result.polled, changed=result.changed)
        return result

    def _call[T](self, read: Callable[[str], T], token: str) -> T:
        """A read with the token, renewed once if Orange refuses it (401 code 41/42)."""
        try:
            return read(token)
        except TokenRejected:
            return read(self._tokens.refresh(stale=token).value)

    def _apply(self, message_id: str, raw: str, polls: int) -> int:
        status = normalise(raw)
        next_at = None if settled(raw) else utc_now(after=backoff(polls + 1, self._scale))
        changes = {"next_poll_at": next_at, "polls": polls + 1}
        if status is None:  # a server error at Orange: nothing learnt, poll again
            self._tracker.touch(message_id, **changes)
            return 0
        update = StatusUpdate(status, utc_now(), SOURCE, provider_status=raw)
        return int(self._tracker.apply(message_id, update, **changes) == "changed")

    def _reschedule(self, message_id: str, polls: int) -> None:
        next_at = utc_now(after=backoff(polls + 1, self._scale))
        self._tracker.touch(message_id, next_poll_at=next_at, polls=polls + 1)

    def _limit_reached(self, result: Round) -> Round:
        result.limit_reached = True
        metrics.add_metric(name="OrangePlLimitReached", unit="Count", value=1)
        logger.warning("orange pl call limit reached: round ended", polled=result.polled)
        return result
