"""Whether an Orange account may send to a country, from the latest balance snapshot of the
offer the send would use: an on-net send (`onNet`) uses the SMS_OCB2 bundle, any other the
SMS_OCB one, so an empty on-net bundle holds on-net sends only, and the other way round.

Orange refuses sends from an expired contract or an empty bundle; the sender learns it from
that answer too (`AccountBlocked`), but the hourly snapshot already knows, so sends for that
account, country and offer are held before any call. A new snapshot (hourly, or the function
invoked by hand after buying a bundle) releases them. The snapshot is read at most once a
minute per account, country and offer: a held backlog must not turn into a read per message.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.aws.balance_store import BalanceRepository
from gateway.orange.admin import offer_for
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
        self._cache: dict[tuple[str, str, str], tuple[float, str | None]] = {}

    def reason(self, account: str, country: str, *, on_net: bool = False) -> str | None:
        """Why `account` may not send to `country` now (on-net or not); None when nothing
        says it may not."""
        key = (account, country, offer_for(on_net))
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        snapshot = self._repo.latest_for(*key)
        reason = held_by(snapshot, self._now()) if snapshot else None
        self._cache[key] = (self._clock(), reason)
        return reason


def held_by(snapshot: dict[str, object], now: datetime) -> str | None:
    seen = f"{snapshot.get('offer', '?')}, balance snapshot of {snapshot.get('takenAt', '?')}"
    if str(snapshot.get("status", "")).upper() == "EXPIRED":
        return f"contract expired ({seen})"
    days = days_to(str(snapshot.get("expires", "")), now)
    if days is not None and days <= 0:
        return f"contract expired on {snapshot.get('expires')} ({seen})"
    units = snapshot.get("units")
    if isinstance(units, int | float) and units <= 0:
        return f"no units left in the bundle ({seen})"
    return None
