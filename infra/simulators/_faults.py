"""Injected faults for reliability tests.

Each request draws at most one fault from a seeded RNG, so a failing run can be
replayed with the same seed and the same request sequence. An outage (`FaultInjector.
start_outage`) is no draw: for its stretch every call the simulator serves is refused.
"""

import dataclasses
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """What to do to one request instead of (or on top of) serving it normally."""

    RESET = "reset"  # close the connection without a response
    HTTP_500 = "http_500"  # answer 500 without doing the work
    TIMEOUT = "timeout"  # do the work, then hold the response for `timeout_seconds`
    RATE_BURST = "rate_burst"  # answer the carrier's rate-limit error
    # Last: a seeded plan draws the faults above as it did before these two were added.
    HTTP_503 = "http_503"  # answer 503 without doing the work, as a service that is down
    HTTP_504 = "http_504"  # do the work, then answer 504 as an API front whose upstream timed out
    # Last again: a plan without these two draws the faults above as it did before.
    HTTP_502 = "http_502"  # do the work, then answer 502 as an API front whose upstream failed
    # Do the work and push its callbacks (receipts), then answer `early_receipts_lead_seconds`
    # later: the callbacks reach the client before the answer does.
    EARLY_RECEIPTS = "early_receipts"


OUTAGE = "outage"  # the count of calls refused during an outage, among `injected()`'s


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Probabilities (0..1, summing to at most 1) of each fault per request.

    `timeout_seconds` is how long a `timeout` fault holds the answer: set it above the
    client's read timeout so the client gives up while the work is already done.
    `early_receipts_lead_seconds` is how long an `early_receipts` fault holds the answer once
    the callbacks were acknowledged: long enough for the client to have stored them.
    """

    http_500: float = 0.0
    timeout: float = 0.0
    reset: float = 0.0
    rate_burst: float = 0.0
    http_503: float = 0.0
    http_504: float = 0.0
    http_502: float = 0.0
    early_receipts: float = 0.0
    timeout_seconds: float = 5.0
    early_receipts_lead_seconds: float = 1.0

    def __post_init__(self) -> None:
        odds = self.odds().values()
        if any(not 0.0 <= p <= 1.0 for p in odds) or sum(odds) > 1.0:
            raise ValueError("fault probabilities must be within 0..1 and sum to at most 1")
        if self.timeout_seconds < 0 or self.early_receipts_lead_seconds < 0:
            raise ValueError("timeout_seconds and early_receipts_lead_seconds must not be negative")

    def odds(self) -> dict[Fault, float]:
        """Each fault's probability."""
        return {fault: getattr(self, fault.value) for fault in Fault}

    @classmethod
    def from_json(cls, payload: object) -> "FaultPlan":
        """Build a plan from a JSON object; keys left out are 0 (or the default hold)."""
        names = {field.name for field in dataclasses.fields(cls)}
        if not isinstance(payload, dict) or not set(payload) <= names:
            raise ValueError(f"expected a JSON object with keys among {sorted(names)}")
        values = payload.values()
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ValueError("fault values must be numbers")
        return cls(**{name: float(value) for name, value in payload.items()})


class FaultInjector:
    """Thread-safe holder of the current plan, its seeded RNG and a count of the faults drawn
    by kind."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults, not security  # nosec B311
        self._plan = FaultPlan()
        self._lock = threading.Lock()
        self._injected: Counter[str] = Counter()
        self._outage_until = float("-inf")  # time.monotonic()

    def reseed(self, seed: int) -> None:
        """Draw from `seed` on: a run's fault sequence can be replayed."""
        with self._lock:
            self._rng.seed(seed)

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were drawn so far."""
        with self._lock:
            return dict(self._injected)

    @property
    def plan(self) -> FaultPlan:
        with self._lock:
            return self._plan

    @plan.setter
    def plan(self, plan: FaultPlan) -> None:
        with self._lock:
            self._plan = plan

    def start_outage(self, seconds: float) -> None:
        """Refuse every call for the next `seconds` (0 ends an outage at once)."""
        if seconds < 0:
            raise ValueError("an outage cannot last a negative time")
        with self._lock:
            self._outage_until = time.monotonic() + seconds

    def refused_by_outage(self) -> bool:
        """Whether the current call falls in an outage; counted (`OUTAGE`) when it does."""
        with self._lock:
            if time.monotonic() >= self._outage_until:
                return False
            self._injected[OUTAGE] += 1
            return True

    def draw(self) -> Fault | None:
        """The fault to inject into the current request, if any."""
        with self._lock:
            odds = self._plan.odds()
            if not any(odds.values()):
                return None  # keep the RNG sequence tied to faulty periods only
            roll = self._rng.random()
        threshold = 0.0
        for fault, probability in odds.items():
            threshold += probability
            if roll < threshold:
                with self._lock:
                    self._injected[fault.value] += 1
                return fault
        return None
