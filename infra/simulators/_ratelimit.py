"""A sliding-window rate limiter, as carriers enforce their per-account TPS caps."""

import threading
import time
from collections import defaultdict, deque


class SlidingWindowLimiter:
    """Allows at most `limit` acquisitions per key within any `window` seconds.

    A sliding log of accepted timestamps, not fixed buckets, so a burst straddling a
    second boundary is still refused. Refused attempts are not logged, so they do not
    extend the wait.
    """

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self._limit = limit
        self._window = window
        self._accepted: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def try_acquire(self, key: str) -> bool:
        """Take one slot for `key` if the window has room; False when it is full."""
        now = time.monotonic()
        with self._lock:
            accepted = self._accepted[key]
            while accepted and accepted[0] <= now - self._window:
                accepted.popleft()
            if len(accepted) >= self._limit:
                return False
            accepted.append(now)
            return True
