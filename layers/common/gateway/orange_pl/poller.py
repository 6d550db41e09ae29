"""The Orange Poland status poller: one round reads the call limit, then polls the MMS in
flight that are due, oldest first, no more than this round's share of the limit, and
schedules each one's next poll with backoff (about 1, 2, 5, 10, 30 minutes, then hourly)
until its status settles. The 72-hour end is the sweeper's ("no final receipt"), as for every
channel: it takes the message out of the poll index."""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from gateway.aws.message_store import MessageRepository
from gateway.core.carrier_errors import CarrierError
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import utc_now
from gateway.core.tracking import StatusTracker
from gateway.observability import logger, metrics
from gateway.orange.client import RateLimited, TokenRejected
from gateway.orange.tokens import TokenStore
from gateway.orange_pl.client import CallLimit, OrangePlClient
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
ROUND_MAX = 200  # what one invocation polls at most, the limit "unlimited" or not
ROUND_EVERY = timedelta(minutes=2)  # MmsStatusPollerFunction's schedule in template.yaml
# When the limit answer's reset date cannot be read: spread the allowance over a day.
UNREADABLE_RESET_WITHIN = timedelta(days=1)


def backoff(polls: int, scale: float = 1.0) -> timedelta:
    """How long after the `polls`-th poll (0: the registration) the next one comes."""
    return (BACKOFF[polls] if polls < len(BACKOFF) else THEN_EVERY) * scale


def round_budget(limit: CallLimit, now: datetime, rng: random.Random) -> int:
    """The status calls a round may make: what is `available` spread evenly over the rounds
    left until the counter resets, so that a backlog cannot spend early what the rest of the
    period needs (once it is spent, every call is refused until the reset). A fraction of a
    call is one call with that chance (a share of 0.25: one round in four, on average); the
    last round before the reset may spend all that is left. At most ROUND_MAX."""
    if limit.available is None:
        return ROUND_MAX
    resets = limit.resets or now + UNREADABLE_RESET_WITHIN
    rounds_left = max(1, math.ceil((resets - now) / ROUND_EVERY))
    share = limit.available / rounds_left
    whole = math.floor(share)
    return min(ROUND_MAX, whole + int(rng.random() < share - whole))


@dataclass
class Round:
    budget: int = 0
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
        self._rng = random.Random()  # noqa: S311 - pacing, not crypto  # nosec B311

    def run_round(self) -> Round:
        result = Round()
        token = self._tokens.current().value
        try:
            limit = self._call(self._client.call_limit, token)
        except RateLimited:
            return self._limit_reached(result)
        result.budget = round_budget(limit, datetime.now(UTC), self._rng)
        due = self._repo.due_polls(utc_now(), result.budget) if result.budget else []
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
        logger.info(
            "orange pl round",
            budget=result.budget,
            due=result.due,
            polled=result.polled,
            changed=result.changed,
        )
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
