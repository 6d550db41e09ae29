"""When queued SMS will have reached Orange, per Orange account, at the account's rate.

The sender's rate limiter decides the pace: an account's SMS go one per slot of
`slot_seconds(rate)`, and a multi-part SMS on an account billed per segment takes
`slots_for(segments)` slots. The estimate counts slots the same way, with the functions the
limiter uses, and the account each SMS goes through as the sender routes it. It is a floor:
carrier errors, held accounts and retries only add to it.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.aws.ratelimit import slot_seconds, slots_for
from gateway.core.segments import count_segments
from gateway.core.send_request import SendRequest, SmsRequest
from gateway.orange.config import OrangeConfig
from gateway.orange.countries import orange_country


@dataclass(frozen=True, slots=True)
class AccountEta:
    account: str
    sms: int  # the SMS just queued through this account
    slots: int  # the rate slots they take
    rate_per_second: float
    seconds: float  # until the last of them reaches Orange, the backlog ahead included


def estimate(
    requests: Sequence[SendRequest], config: OrangeConfig, *, ahead: int
) -> dict[str, AccountEta]:
    """Per account that these requests' SMS go through, when the last reaches Orange.

    The `ahead` requests already on the queue cannot be read without hiding them from the
    sender, so they are taken to be like these: each account's share of them is its share of
    these requests (MMS included, which use no Orange SMS slot).
    """
    sms: Counter[str] = Counter()
    slots: Counter[str] = Counter()
    for request in requests:
        if isinstance(request, SmsRequest):
            account = config.account_for(orange_country(request.to))
            sms[account.name] += 1
            slots[account.name] += slots_for(account.cost(count_segments(request.text)))
    backlog = 1 + ahead / len(requests) if requests else 1
    etas = {}
    for name in sorted(sms):
        rate = config.account(name).rate_per_second
        etas[name] = AccountEta(
            account=name,
            sms=sms[name],
            slots=slots[name],
            rate_per_second=rate,
            seconds=slots[name] * backlog * slot_seconds(rate),
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
