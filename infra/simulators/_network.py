"""The network between the gateway and a carrier: how long each one-way trip of a call takes.

On loopback a simulator answers in about a millisecond, every time; a carrier on the internet
answers tens of milliseconds later, unevenly, and now and then much later. A `NetworkDelay`
describes such a network; `Network` holds a simulator's current one, draws each one-way delay
from its own seeded RNG (the same seed, the same delays for the same sequence of calls) and
counts what it applied. Each request a simulator serves crosses it twice: on its way in, before
the simulator handles it, and on its way out, before the client reads the answer (see
`SimulatorBase`).
"""

import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import Any, TypedDict


@dataclass(frozen=True, slots=True)
class NetworkDelay:
    """One-way delays: `mean_ms` plus or minus up to `jitter_ms` (uniform, never below 0), plus
    `slow_extra_ms` on a `slow_share` (0..1) of the trips. `seed` seeds the draws (None: the
    OS's entropy, not reproducible)."""

    mean_ms: float = 0.0
    jitter_ms: float = 0.0
    slow_share: float = 0.0
    slow_extra_ms: float = 0.0
    seed: int | None = 0

    def __post_init__(self) -> None:
        if min(self.mean_ms, self.jitter_ms, self.slow_extra_ms) < 0:
            raise ValueError("mean_ms, jitter_ms and slow_extra_ms must not be negative")
        if not 0.0 <= self.slow_share <= 1.0:
            raise ValueError("slow_share must be within 0..1")

    @classmethod
    def realistic(cls, seed: int | None = 0) -> "NetworkDelay":
        """A carrier API across the internet: 60 ms ± 25 ms each way, 1 % of trips 300 ms
        slower."""
        return cls(mean_ms=60.0, jitter_ms=25.0, slow_share=0.01, slow_extra_ms=300.0, seed=seed)

    def draw(self, rng: random.Random) -> tuple[float, bool]:
        """One one-way delay in milliseconds from `rng`, and whether it is a slow one.

        Each draw takes one number for the jitter and, when `slow_share` is set, one for the
        slow roll, so a seed gives the same delays whatever the values."""
        delay = max(self.mean_ms + rng.uniform(-self.jitter_ms, self.jitter_ms), 0.0)
        slow = self.slow_share > 0 and rng.random() < self.slow_share
        return (delay + self.slow_extra_ms if slow else delay), slow


class NetworkStats(TypedDict):
    """What a simulator's network applied since it started, over every setting it had."""

    network: dict[str, Any] | None  # the current NetworkDelay's fields; None: no network now
    calls: int  # requests that crossed a network on their way in
    delays: int  # one-way delays applied: two per call answered
    slow_delays: int  # of which had `slow_extra_ms` added
    total_delay_ms: float
    mean_delay_ms: float  # per one-way delay; 0.0 before any
    min_delay_ms: float | None  # None before any
    max_delay_ms: float | None


class Network:
    """A simulator's current `NetworkDelay` (None: no network), its RNG and its counters;
    thread-safe, as requests are served on several threads."""

    def __init__(self, delay: NetworkDelay | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random()  # noqa: S311 - reproducible delays, not security  # nosec B311
        self._delay: NetworkDelay | None = None
        self._calls = self._delays = self._slow = 0
        self._total_ms = 0.0
        self._min_ms: float | None = None
        self._max_ms: float | None = None
        self.set(delay)

    def set(self, delay: NetworkDelay | None) -> None:
        """Delay the trips from now on by `delay` (None: none); its seed restarts the draws."""
        with self._lock:
            self._delay = delay
            if delay is not None:
                self._rng.seed(delay.seed)

    def inbound(self) -> float:
        """Seconds a request takes to reach the simulator (0.0 without a network); counts it."""
        return self._draw(inbound=True)

    def outbound(self) -> float:
        """Seconds the answer takes to reach the client (0.0 without a network)."""
        return self._draw(inbound=False)

    def _draw(self, *, inbound: bool) -> float:
        with self._lock:
            if self._delay is None:
                return 0.0
            delay_ms, slow = self._delay.draw(self._rng)
            if inbound:
                self._calls += 1
            self._delays += 1
            if slow:
                self._slow += 1
            self._total_ms += delay_ms
            self._min_ms = delay_ms if self._min_ms is None else min(self._min_ms, delay_ms)
            self._max_ms = delay_ms if self._max_ms is None else max(self._max_ms, delay_ms)
        return delay_ms / 1000.0

    def stats(self) -> NetworkStats:
        with self._lock:
            return NetworkStats(
                network=None if self._delay is None else dataclasses.asdict(self._delay),
                calls=self._calls,
                delays=self._delays,
                slow_delays=self._slow,
                total_delay_ms=self._total_ms,
                mean_delay_ms=self._total_ms / self._delays if self._delays else 0.0,
                min_delay_ms=self._min_ms,
                max_delay_ms=self._max_ms,
            )
