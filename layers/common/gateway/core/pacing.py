"""Pacing an account's requests by when the carrier can have counted them, not when they left.

A carrier counts a request in its rate window when the request arrives, a network trip after
it left; slots spaced evenly at the sender arrive unevenly (tens of milliseconds of jitter,
now and then a trip hundreds of milliseconds slow), and a window that catches one arrival too
many answers 403. No fixed margin covers that without giving up rate: 4 % over 1/rate left
2.7 % of sends refused under 60 ms +- 25 ms of one-way delay (docs/BENCHMARKS.md).

What the sender does know is when each answer came back: a request answered at `r` arrived at
most `r - m` earlier... precisely, at `r` minus its trip back and the carrier's handling, and
`m`, the shortest round trip seen lately, is at most a trip back plus a trip in. So a request
sent at `t` arrives after `r - m + W` of an earlier one (W: the window) whenever `t` is at
least `r + W - m`: the pacer holds a request until the requests whose arrival could still
share its window cost less than the account's allowance. A request still unanswered could
arrive any time; it holds the next ones until it is answered, or for `stale_after` at most (a
trip that slow is lost to the window anyway). A refused request is not counted (the carrier
does not count it either).

One pacer per account per process: a lane has one dispatcher at a time (its lease), whose
workers share it. The slot limiter (`gateway.aws.ratelimit`) still spaces requests across
processes; the pacer only ever sends later than the slot it was given.
"""

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Round trips remembered for the shortest: enough to see the network's floor, recent enough
# to follow a route that changed.
RTT_SAMPLES = 200
# Answers seen before pacing starts: until then the slots alone space the requests.
MIN_SAMPLES = 5
DEFAULT_STALE_AFTER_SECONDS = 1.0


@dataclass(slots=True)
class Sent:
    """A request the pacer let go: when, what it costs, and when its answer came (None: not
    yet). `counted` is False once the carrier refused it."""

    at: float
    cost: int
    answered_at: float | None = None
    counted: bool = True


def _wait(changed: threading.Condition, timeout: float) -> None:
    changed.wait(timeout)


class ArrivalPacer:
    def __init__(
        self,
        allowance: int,
        window: float = 1.0,
        *,
        stale_after: float = DEFAULT_STALE_AFTER_SECONDS,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Condition, float], None] = _wait,
    ) -> None:
        if allowance < 1 or window <= 0:
            raise ValueError("allowance must be at least 1 and window positive")
        self._allowance = allowance
        self._window = window
        self._stale_after = stale_after
        self._enabled = enabled  # off: every request goes at once (the slots alone space them)
        self._clock = clock
        self._wait = wait
        # One request chooses its time at once, so they leave in turn; `_changed` guards the
        # records and wakes the one waiting when an answer comes back.
        self._turn = threading.Lock()
        self._changed = threading.Condition()
        self._sent: deque[Sent] = deque()
        self._rtts: deque[float] = deque(maxlen=RTT_SAMPLES)

    def go(self, cost: int = 1, max_wait: float | None = None) -> Sent:
        """Wait until a request of `cost` units can leave without its arrival sharing the
        carrier's window with more than the allowance, then record it as sent now. Waits at
        most `max_wait` (None: as long as it takes); past it, goes anyway (the carrier's 403
        is retried like any other)."""
        with self._turn, self._changed:
            give_up = None if max_wait is None else self._clock() + max_wait
            while True:
                now = self._clock()
                ready = self._ready_at(cost, now)
                if ready <= now or (give_up is not None and now >= give_up):
                    sent = Sent(now, cost)
                    self._sent.append(sent)
                    return sent
                until = ready if give_up is None else min(ready, give_up)
                self._wait(self._changed, until - now)

    @contextmanager
    def sending(
        self, cost: int, max_wait: float | None, *, refused: type[Exception]
    ) -> Iterator[Sent]:
        """`go`, then the call in the `with` block, then `answered` as it ends: `refused` is
        the exception the carrier's rate refusal raises."""
        sent = self.go(cost, max_wait)
        counted = True
        try:
            yield sent
        except refused:
            counted = False
            raise
        finally:
            self.answered(sent, counted=counted)

    def answered(self, sent: Sent, *, counted: bool) -> None:
        """The answer to `sent` came back now; `counted` False when the carrier refused it
        for the rate (it did not count it)."""
        with self._changed:
            sent.answered_at = self._clock()
            sent.counted = counted
            self._rtts.append(sent.answered_at - sent.at)
            self._changed.notify_all()

    def _ready_at(self, cost: int, now: float) -> float:
        """The earliest time a request of `cost` may leave (<= now: it may now)."""
        if not self._enabled or len(self._rtts) < MIN_SAMPLES:
            return now
        shortest = min(self._rtts)
        while self._sent and self._clear_at(self._sent[0], shortest) <= now:
            self._sent.popleft()  # it arrived too long ago to share any new one's window
        clear = sorted(
            ((self._clear_at(s, shortest), s.cost) for s in self._sent if s.counted),
            reverse=True,
        )
        room = self._allowance - cost
        for at, units in clear:
            room -= units
            if room < 0:  # this one, and every one before it, must be out of our window
                return at
        return now

    def _clear_at(self, sent: Sent, shortest: float) -> float:
        """When a new request may leave and arrive after `sent`'s window: `sent` arrived by
        its answer minus `shortest` (at least a trip back and a trip in), plus the window. One
        unanswered counts as answered when it turns stale."""
        answered = sent.answered_at
        if answered is None:
            answered = sent.at + self._stale_after
        return answered - shortest + self._window
