"""A lane's dispatcher: hands the messages waiting in one lane (one carrier account) to the
carrier, highest priority first, then oldest, at the account's rate.

One dispatcher per lane at a time, across every invocation (a lease). It runs while its lane
has work: `workers` threads each claim the lane's next message, wait for its rate slot and
send it, so that while one records its last send another already holds a slot. A worker
chooses its message before it waits for a slot, so a `high` message queued behind a backlog
of `bulk` ones waits for at most `workers` slots. When the lane stays empty for `linger`
seconds, or the invocation nears its end, the dispatcher lets go of the lane and wakes the
next one if anything is still waiting (a message queued while it was letting go found the
lease held and woke no one), and sets a wake-up for the lane's next scheduled message.

Lanes never wait for each other: each has its own dispatcher, its own lease, its own rate.
"""

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from gateway.core.model import utc_now, utc_text
from gateway.core.sending import Later, Result, Sender, priority_of, queue_entry
from gateway.core.store import LaneQueue, MessageStore, QueueEntry
from gateway.observability import dimensioned_metrics, logger

# A claim the sweep may end `unknown` after this long: longer than any send can take.
DEFAULT_SEND_LEASE_SECONDS = 40.0
# Claim nothing with less of the invocation left: the longest send (an MM7 submit: its content
# read from S3, 3.05 s to connect, 15 s to answer) and recording it fit. Channels check each
# call against what is left (`Deadline`), so a longer path waits for the next dispatcher.
DEFAULT_CLAIM_RESERVE_SECONDS = 30.0
# Long enough that a lane getting a message every few seconds (OTPs) keeps its dispatcher:
# each wake-up of an idle lane costs a queue round trip and an invocation.
DEFAULT_LINGER_SECONDS = 5.0
POLL_SECONDS = 0.1
PROMOTE_EVERY_SECONDS = 1.0
PROMOTE_LIMIT = 25


class Lease(Protocol):
    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class Wakeup(Protocol):
    def wake(self, lanes: Sequence[str]) -> None:
        """Have each lane's dispatcher run now (unless one is running)."""
        ...

    def wake_at(self, lane: str, at: str) -> None:
        """Have the lane's dispatcher run again by `at`."""
        ...


# Runs tasks at once and returns when all ended (`gateway.aws.threads.run_traced`).
type Runner = Callable[[Sequence[Callable[[], None]]], None]


@dataclass
class Round:
    lane: str
    busy: bool = False  # another dispatcher had the lane
    outcomes: dict[str, Result] = field(default_factory=dict)  # message id -> what came of it

    @property
    def results(self) -> Counter[Result]:
        return Counter(self.outcomes.values())


@dataclass
class _Shared:
    """What a lane's workers share in one run."""

    taken: set[str] = field(default_factory=set)  # message ids a worker is on
    last_work: float = 0.0
    found_nothing: float = float("-inf")  # when a worker last read the lane for nothing
    last_promote: float = float("-inf")
    # Per priority, how long each message claimed had waited in the lane (ms).
    waited: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)


class Dispatcher:
    def __init__(
        self,
        *,
        store: MessageStore,
        queue: LaneQueue,
        sender: Sender,
        wakeup: Wakeup,
        lease: Callable[[str], Lease],
        workers: int = 2,
        send_lease_seconds: float = DEFAULT_SEND_LEASE_SECONDS,
        claim_reserve_seconds: float = DEFAULT_CLAIM_RESERVE_SECONDS,
        linger_seconds: float = DEFAULT_LINGER_SECONDS,
        runner: Runner,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._queue = queue
        self._sender = sender
        self._wakeup = wakeup
        self._lease = lease
        self._workers = workers
        self._send_lease = timedelta(seconds=send_lease_seconds)
        self._claim_reserve = claim_reserve_seconds
        self._linger = linger_seconds
        self._runner = runner
        self._clock = clock
        self._sleep = sleep

    def run(self, lane: str, time_left: Callable[[], float]) -> Round:
        """Dispatch the lane until it stays empty or the invocation nears its end."""
        round_ = Round(lane)
        lease = self._lease(lane)
        if not lease.acquire():
            round_.busy = True
            return round_
        shared = _Shared(last_work=self._clock())
        try:
            self._runner([lambda: self._work(lane, time_left, shared, round_)] * self._workers)
        finally:
            lease.release()
            _publish_waits(shared.waited)
        self._promote(lane, shared, force=True)
        if self._queue.ready(lane, 1):
            self._wakeup.wake([lane])
        next_due = self._queue.next_due(lane)
        if next_due is not None:
            self._wakeup.wake_at(lane, next_due)
        logger.info("lane dispatched", lane=lane, results=dict(round_.results))
        return round_

    def tick(self, lanes: Sequence[str]) -> list[str]:
        """The safety net, every minute: wake each lane with a message ready or due (its
        wake-up may have been lost with a dispatcher that died); the lanes woken."""
        now = utc_now()
        waiting = [
            lane
            for lane in lanes
            if self._queue.ready(lane, 1) or (self._queue.next_due(lane) or "~") <= now
        ]
        if waiting:
            self._wakeup.wake(waiting)
        return waiting

    def _work(
        self, lane: str, time_left: Callable[[], float], shared: _Shared, round_: Round
    ) -> None:
        while time_left() > self._claim_reserve:
            self._promote(lane, shared)
            entry = self._next(lane, shared)
            if entry is None:
                if self._clock() - shared.last_work > self._linger:
                    return
                self._sleep(POLL_SECONDS)
                continue
            try:
                result = self._dispatch(entry, time_left, shared)
            finally:
                with shared.lock:
                    shared.taken.discard(entry.message_id)
                    shared.last_work = self._clock()
            with shared.lock:
                round_.outcomes[entry.message_id] = result

    def _next(self, lane: str, shared: _Shared) -> QueueEntry | None:
        """The lane's first ready message no other worker of this run is on. An idle lane is
        read once per poll, not once per worker and poll."""
        with shared.lock:
            if self._clock() - shared.found_nothing < POLL_SECONDS:
                return None
        for entry in self._queue.ready(lane, 2 * self._workers + 1):
            with shared.lock:
                if entry.message_id not in shared.taken:
                    shared.taken.add(entry.message_id)
                    return entry
        with shared.lock:
            shared.found_nothing = self._clock()
        return None

    def _promote(self, lane: str, shared: _Shared, *, force: bool = False) -> None:
        with shared.lock:
            if not force and self._clock() - shared.last_promote < PROMOTE_EVERY_SECONDS:
                return
            shared.last_promote = self._clock()
        if self._queue.promote(lane, utc_now(), PROMOTE_LIMIT):
            with shared.lock:
                shared.last_work = self._clock()

    def _dispatch(
        self, entry: QueueEntry, time_left: Callable[[], float], shared: _Shared
    ) -> Result:
        now = utc_now()
        lease_until = utc_text(datetime.fromisoformat(now) + self._send_lease)
        claimed = self._store.claim(entry.message_id, now, lease_until)
        if claimed is None:
            self._queue.remove(entry)
            return Result.DUPLICATE  # sent, being sent or ended meanwhile (cancelled, say)
        # From when it was queued (or due, when scheduled) to its claim: the lane's backlog.
        waited = _waited_ms(max(claimed.created_at, claimed.send_at or ""), now)
        with shared.lock:
            shared.waited[priority_of(claimed)].append(waited)
        try:
            outcome = self._sender.send(claimed, time_left)
            if isinstance(outcome, Later):
                self._queue.push(queue_entry(claimed, entry.lane), due_at=outcome.due_at)
                return Result.LATER
            return outcome
        finally:
            # After the send, not before it: the claim already keeps every other worker and
            # dispatcher off the message, and the send goes one request sooner.
            self._queue.remove(entry)


def _publish_waits(waited: dict[str, list[float]]) -> None:
    """`DispatchWaitMs` under its priority (high, normal, bulk: never a caller's text), what the
    queue-age alarms watch; one metrics document per priority and run, not per message."""
    for priority, waits in waited.items():
        with dimensioned_metrics(priority=priority) as batch:
            for value in waits:
                batch.add_metric(name="DispatchWaitMs", unit="Milliseconds", value=value)


def _waited_ms(since: str, now: str) -> float:
    waited = datetime.fromisoformat(now) - datetime.fromisoformat(since)
    return max(0.0, waited.total_seconds() * 1000)
