"""A model of one account sending a backlog to a carrier that counts arrivals in a sliding
one-second window (refusals not counted), through a network drawn as the simulators draw it
(`NetworkDelay`), in simulated time. It runs the gateway's own `ArrivalPacer`, the rate slots
alone, and an oracle that knows when every request it sent arrives: what no sender seeing only
its own sends and answers can beat. The local stack measures the gateway; this model gives the
bound to read that measure against, for the same network."""

import heapq
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateway.core.pacing import ArrivalPacer, Sent
from infra.simulators._network import NetworkDelay

type Policy = Literal["slots", "answers", "oracle"]
WINDOW_SECONDS = 1.0
HANDLING_SECONDS = 0.002  # the carrier's own time per request, between arrival and answer


class SimClock:
    """Simulated time: waiting advances it and runs what falls due meanwhile."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = 0

    def __call__(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._order += 1
        heapq.heappush(self._due, (when, self._order, action))

    def advance(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until(self, until: float) -> None:
        while self._due and self._due[0][0] <= until:
            when, _, action = heapq.heappop(self._due)
            self.now = max(self.now, when)
            action()
        self.now = max(self.now, until)

    def wait(self, _: threading.Condition, timeout: float) -> None:
        """Wake at the timeout or when the next thing falls due, as a condition wait does."""
        next_due = self._due[0][0] if self._due else self.now + timeout
        self.run_until(min(self.now + timeout, next_due))


class WindowCarrier:
    """At most `cap` accepted arrivals in any `window` seconds; a refusal is not counted."""

    def __init__(self, cap: int, window: float = WINDOW_SECONDS) -> None:
        self.cap = cap
        self.window = window
        self._accepted: deque[float] = deque()
        self.accepted = self.refused = 0

    def arrive(self, at: float) -> bool:
        while self._accepted and self._accepted[0] <= at - self.window:
            self._accepted.popleft()
        if len(self._accepted) >= self.cap:
            self.refused += 1
            return False
        self._accepted.append(at)
        self.accepted += 1
        return True


@dataclass(frozen=True, slots=True)
class ModelRun:
    policy: Policy
    sends: int
    accepted: int
    refused: int
    seconds: float
    cap: int

    @property
    def ratio_to_cap(self) -> float:
        return self.accepted / self.seconds / self.cap

    @property
    def refused_share(self) -> float:
        return self.refused / self.sends


def simulate(
    policy: Policy,
    network: NetworkDelay,
    *,
    sends: int = 3000,
    cap: int = 5,
    margin: float = 0.04,
    seed: int = 7,
) -> ModelRun:
    """`sends` requests of one unit, back to back from a backlog: every one waits for its slot
    (`margin` over 1/cap), then, per `policy`, for nothing more (`slots`), the pacer
    (`answers`), or until its arrival cannot be refused (`oracle`, which knows every arrival
    and the shortest trip)."""
    clock = SimClock()
    rng = random.Random(seed)  # noqa: S311 - reproducible delays, not security  # nosec B311
    carrier = WindowCarrier(cap)
    pacer = ArrivalPacer(cap, clock=clock, wait=clock.wait)
    arrivals: list[float] = []  # what the oracle knows
    shortest_trip = max(network.mean_ms - network.jitter_ms, 0.0) / 1000

    def trip() -> float:
        return network.draw(rng)[0] / 1000

    def send(sent: Sent | None) -> None:
        arrived = clock.now + trip()
        arrivals.append(arrived)

        def arrive() -> None:
            counted = carrier.arrive(arrived)
            if sent is not None:
                answer = arrived + HANDLING_SECONDS + trip()
                clock.at(answer, lambda: pacer.answered(sent, counted=counted))

        clock.at(arrived, arrive)

    slot = (1 + margin) / cap
    next_slot = 0.0
    for _ in range(sends):
        clock.run_until(next_slot)
        if policy == "answers":
            send(pacer.go())
        else:
            if policy == "oracle" and len(arrivals) >= cap:
                latest = sorted(arrivals[-4 * cap :])[-cap]
                clock.run_until(latest + WINDOW_SECONDS - shortest_trip)
            send(None)
        next_slot = max(next_slot + slot, clock.now)
    last_send = clock.now
    clock.advance(5.0)
    return ModelRun(policy, sends, carrier.accepted, carrier.refused, last_send, cap)
