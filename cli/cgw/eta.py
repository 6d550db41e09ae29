"""When queued SMS will have reached Orange, per Orange account and priority, at the
account's rate.

The sender's rate limiter decides the pace: an account's SMS go one per slot of
`slot_seconds(rate)`, and a multi-part SMS on an account billed per segment takes
`slots_for(segments)` slots. Within an account a waiting high message takes the next slot
before any normal one, and a normal one before any bulk one: a high SMS waits only behind the
high ones, a normal one behind the high and normal ones, a bulk one behind all. The estimate
counts slots the same way, with the functions the limiter uses, and the account each SMS goes
through as the sender routes it. A scheduled SMS (`sendAt`) is not sent before its time:
its priority's ETA is at least that far away. Carrier errors, held accounts and retries only
add to it.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.aws.ratelimit import slot_seconds, slots_for
from gateway.core.segments import count_segments
from gateway.core.send_request import PRIORITIES, SendRequest, SmsRequest
from gateway.orange.config import OrangeConfig
from gateway.orange.countries import orange_country


@dataclass(frozen=True, slots=True)
class AccountEta:
    account: str
    priority: str  # high, normal or bulk
    sms: int  # the SMS of this priority just queued through this account
    slots: int  # the rate slots they take
    rate_per_second: float
    # Until the last of them reaches Orange: the slots of their priority and of the ones
    # before it (the backlog ahead included), and no earlier than the latest sendAt.
    seconds: float


def estimate(
    requests: Sequence[SendRequest],
    config: OrangeConfig,
    *,
    ahead: int,
    now: datetime | None = None,
) -> dict[tuple[str, str], AccountEta]:
    """Per account and priority of these requests' SMS, when the last of them reaches
    Orange; keyed by (account, priority), accounts in name order, priorities in the order
    they take the slots.

    The `ahead` requests already on the queue cannot be read without hiding them from the
    sender, so they are taken to be like these: each account and priority's share of them is
    its share of these requests (MMS included, which use no Orange SMS slot).
    """
    now = now or datetime.now(UTC)
    sms: Counter[tuple[str, str]] = Counter()
    slots: Counter[tuple[str, str]] = Counter()
    latest_send_at: dict[tuple[str, str], datetime] = {}
    for request in requests:
        if isinstance(request, SmsRequest):
            account = config.account_for(orange_country(request.to))
            key: tuple[str, str] = (account.name, request.priority)
            sms[key] += 1
            slots[key] += slots_for(account.cost(count_segments(request.text)))
            if request.send_at is not None:
                send_at = datetime.fromisoformat(request.send_at)
                latest_send_at[key] = max(send_at, latest_send_at.get(key, send_at))
    backlog = 1 + ahead / len(requests) if requests else 1
    etas: dict[tuple[str, str], AccountEta] = {}
    for name in sorted({account for account, _ in sms}):
        rate = config.account(name).rate_per_second
        waiting = 0  # the slots of this priority and those before it
        for priority in PRIORITIES:
            key = (name, priority)
            waiting += slots[key]
            if not sms[key]:
                continue
            seconds = waiting * backlog * slot_seconds(rate)
            if key in latest_send_at:
                seconds = max(seconds, (latest_send_at[key] - now).total_seconds())
            etas[key] = AccountEta(
                account=name,
                priority=priority,
                sms=sms[key],
                slots=slots[key],
                rate_per_second=rate,
                seconds=seconds,
            )
    return etas


def human_duration(seconds: float) -> str:
    """`42 s`, `4 min 05 s`, `2 h 10 min`, `3 d 4 h`: as precise as a reader needs."""
    if seconds < 1:
        return "under a second"
    whole = math.ceil(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
