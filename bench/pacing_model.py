"""A model of one account sending a backlog to a carrier that counts arrivals in a sliding
one-second window (refusals not counted), through a network drawn as the simulators draw it
(`NetworkDelay`), in simulated time. It runs the gateway's own `ArrivalPacer`, the rate slots
alone, and an oracle that knows when every request it sent arrives: what no sender seeing only
its own sends and answers can beat. The local stack measures the gateway; this model gives the
bound to read that measure against, for the same network. Requests cost one unit each, or, for
an account billed per segment fed 1- and 2-part SMS, one or two: the carrier then counts units
(segments) in its window."""

import heapq
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
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
    """At most `cap` units accepted in any `window` seconds, counted at arrival (a request of
    more goes alone in its window, as the simulator has it); a refusal is not counted."""

    def __init__(self, cap: int, window: float = WINDOW_SECONDS) -> None:
        self.cap = cap
        self.window = window
        self._accepted: deque[tuple[float, int]] = deque()
        self.accepted = self.refused = self.units = 0

    def arrive(self, at: float, cost: int = 1) -> bool:
        while self._accepted and self._accepted[0][0] <= at - self.window:
            self._accepted.popleft()
        used = sum(units for _, units in self._accepted)
        if used and used + cost > self.cap:
            self.refused += 1
            return False
        self._accepted.append((at, cost))
        self.accepted += 1
        self.units += cost
        return True


class SlotSpacing:
    """The rate limiter's rule (`gateway.aws.ratelimit`) in this model's continuous time: a
    request's slot is one slot after the previous one's (or now, if later), and any `span`
    slots' length carries at most `span` units."""

    def __init__(self, span: int, slot: float) -> None:
        self._span = span
        self._slot = slot
        self._taken: deque[tuple[float, int]] = deque(maxlen=span)  # (slot, units), newest last

    def take(self, cost: int, now: float) -> float:
        """The slot of a request of `cost` units asking at `now`; taken."""
        at = now if not self._taken else max(now, self._taken[-1][0] + self._slot)
        room = self._span - min(cost, self._span)
        for slot_at, units in reversed(self._taken):
            room -= units
            if room < 0:  # the window ending at this request must have left this one out
                at = max(at, slot_at + self._span * self._slot)
                break
        self._taken.append((at, cost))
        return at


@dataclass(frozen=True, slots=True)
class ModelRun:
    policy: Policy
    sends: int
    accepted: int
    refused: int
    seconds: float
    cap: int
    units: int  # accepted units: the accepted requests' costs

    @property
    def ratio_to_cap(self) -> float:
        return self.units / self.seconds / self.cap

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
    two_part_share: float = 0.0,
) -> ModelRun:
    """`sends` requests back to back from a backlog, a `two_part_share` of them (shuffled in)
    costing two units: every one waits for its slot (`margin` over 1/cap), then, per `policy`,
    for nothing more (`slots`), the pacer (`answers`), or until its arrival cannot be refused
    (`oracle`, which knows every arrival and the shortest trip)."""
    clock = SimClock()
    rng = random.Random(seed)  # noqa: S311 - reproducible delays, not security  # nosec B311
    carrier = WindowCarrier(cap)
    pacer = ArrivalPacer(cap, clock=clock, wait=clock.wait)
    slots = SlotSpacing(cap, (1 + margin) / cap)
    arrivals: list[tuple[float, int]] = []  # what the oracle knows
    shortest_trip = max(network.mean_ms - network.jitter_ms, 0.0) / 1000

    def trip() -> float:
        return network.draw(rng)[0] / 1000

    def send(sent: Sent | None, cost: int) -> None:
        arrived = clock.now + trip()
        arrivals.append((arrived, cost))

        def arrive() -> None:
            counted = carrier.arrive(arrived, cost)
            if sent is not None:
                answer = arrived + HANDLING_SECONDS + trip()
                clock.at(answer, lambda: pacer.answered(sent, counted=counted))

        clock.at(arrived, arrive)

    for cost in request_costs(sends, two_part_share, seed):
        clock.run_until(slots.take(cost, clock.now))
        if policy == "answers":
            send(pacer.go(cost), cost)
        else:
            if policy == "oracle":
                clock.run_until(_room_at(arrivals[-4 * cap :], cost, cap) - shortest_trip)
            send(None, cost)
    last_send = clock.now
    clock.advance(5.0)
    return ModelRun(policy, sends, carrier.accepted, carrier.refused, last_send, cap, carrier.units)


def request_costs(sends: int, two_part_share: float, seed: int) -> list[int]:
    """`sends` costs, `two_part_share` of them 2, in an order of their own RNG's (the
    network's draws stay those of a run of one-unit requests)."""
    twos = round(sends * two_part_share)
    costs = [2] * twos + [1] * (sends - twos)
    random.Random(f"costs-{seed}").shuffle(costs)  # noqa: S311  # nosec B311
    return costs


def _room_at(arrivals: Sequence[tuple[float, int]], cost: int, cap: int) -> float:
    """When a request of `cost` may arrive without a refusal: a window after the arrival that
    leaves less than `cost` units of room (0 when none does)."""
    room = cap - min(cost, cap)
    for arrived, units in sorted(arrivals, reverse=True):
        room -= units
        if room < 0:
            return arrived + WINDOW_SECONDS
    return 0.0
