"""Whether an Orange account may send to a country, from its latest balance snapshot.

Orange refuses sends from an expired contract or an empty bundle; the sender learns it from
that answer too (`AccountBlocked`), but the hourly snapshot already knows, so sends for that
account and country are held before any call. A new snapshot (hourly, or the function
invoked by hand after buying a bundle) releases them. The snapshot is read at most once a
minute per account and country: a held backlog must not turn into a read per message.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.aws.balance_store import BalanceRepository
from gateway.orange.balance import days_to

CACHE_SECONDS = 60.0


class AccountHolds:
    def __init__(
        self,
        repository: BalanceRepository,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._now = now
        self._cache: dict[tuple[str, str], tuple[float, str | None]] = {}

    def reason(self, account: str, country: str) -> str | None:
        """Why `account` may not send to `country` now; None when nothing says it may not."""
        key = (account, country)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        snapshot = self._repo.latest_for(account, country)
        reason = held_by(snapshot, self._now()) if snapshot else None
        self._cache[key] = (self._clock(), reason)
        return reason


def held_by(snapshot: dict[str, object], now: datetime) -> str | None:
    taken = snapshot.get("takenAt", "?")
    if str(snapshot.get("status", "")).upper() == "EXPIRED":
        return f"contract expired (balance snapshot of {taken})"
    days = days_to(str(snapshot.get("expires", "")), now)
    if days is not None and days <= 0:
        return f"contract expired on {snapshot.get('expires')} (balance snapshot of {taken})"
    units = snapshot.get("units")
    if isinstance(units, int | float) and units <= 0:
        return f"no units left in the bundle (balance snapshot of {taken})"
    return None
