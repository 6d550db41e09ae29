"""A sliding-window rate limiter, as carriers enforce their per-account TPS caps."""

import threading
import time
from collections import defaultdict, deque


class SlidingWindowLimiter:
    """Allows at most `limit` units per key within any `window` seconds (a request costs one
    unit, or its segments on an account billed per segment).

    A sliding log of accepted timestamps, not fixed buckets, so a burst straddling a
    second boundary is still refused. Refused attempts are not logged, so they do not
    extend the wait. A request costing more than `limit` is accepted into an empty window
    only: alone in it, as no window could hold it otherwise.
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self._limit = limit
        self._window = window
        self._accepted: defaultdict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._lock = threading.Lock()

    def try_acquire(self, key: str, cost: int = 1) -> bool:
        """Take `cost` units for `key` if the window has room; False when it has not."""
        now = time.monotonic()
        with self._lock:
            accepted = self._accepted[key]
            while accepted and accepted[0][0] <= now - self._window:
                accepted.popleft()
            used = sum(units for _, units in accepted)
            if used and used + cost > self._limit:
                return False
            accepted.append((now, cost))
            return True
