"""A rate limiter shared by every concurrent sender invocation, through DynamoDB.

Time is cut into slots of `(1 + margin) / rate` seconds, and each request to the carrier
first takes a slot: the account's ticket counter (`RATE#{account}` / `NEXT`) hands out slot
numbers in order, one conditional update each, so no two callers ever hold the same slot and
a busy account's callers queue for the next ones instead of racing for them. A counter left
behind by an idle spell is moved up to now. The holder sends no earlier than its slot's
start and no later than `tolerance` after it (a caller that woke up late takes a new slot
rather than send late), so any `span + 1` requests (`span`: the slots whose starts one
second can hold, the rate itself for a whole rate under 26) are more than one second apart
whenever `margin` covers `tolerance` and the network's jitter. No sliding one-second window
ever sees more than `span` requests, while the account's allowance is used to within the
margin.

A request that costs `c` units (a multi-part SMS on an account billed per segment) is one
arrival carrying `c` units, so the rule is on units: any `span` consecutive slots carry at
most `span` units. The counter keeps the units of the `span - 1` slots before it, and a
request takes the first slot from it where the window that ends with it keeps the rule
(later requests check the windows after it). A 2-part SMS behind four 1-part ones waits one
slot more; behind a 2-part one, none: it uses 2 units of the allowance, not the `2c - 1`
slots a rule blind to its neighbours needs (`slots_for`).
"""

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from gateway.aws import clients
from gateway.aws.dynamo import ConditionFailed, conditional
from gateway.core.carrier_errors import Throttled
from gateway.observability import metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

DEFAULT_MARGIN = 0.04
DEFAULT_TOLERANCE = 0.015
COUNTER_SK = "NEXT"
COUNTER = "nextSlot"  # the first slot nobody has taken
# The units of the `span - 1` slots before it, oldest first, in runs: (units, slots) pairs,
# flat, so a busy stretch of 1-part SMS or an idle one is a single pair whatever the rate.
RECENT = "recentUnits"


def slot_seconds(rate_per_second: float, margin: float = DEFAULT_MARGIN) -> float:
    """How long one slot lasts: a little over `1 / rate`, so the margin covers jitter."""
    return (1.0 + margin) / rate_per_second


def window_slots(rate_per_second: float, margin: float = DEFAULT_MARGIN) -> int:
    """How many slots' starts one second can hold: the units that many consecutive slots may
    carry (the rate itself, for a whole rate under 26)."""
    return math.ceil(rate_per_second / (1.0 + margin))


def slots_for(cost: int) -> int:
    """The most slots a request of `cost` units can hold the queue up: the one it goes in and
    `cost - 1` on each side, what a rule blind to its neighbours needs. The counter knows
    them and often needs fewer: this is a bound (the ETA's), not what it takes."""
    return 2 * cost - 1


def _last(units: Sequence[int], count: int) -> tuple[int, ...]:
    return tuple(units[len(units) - count :])


def _runs(units: Sequence[int]) -> list[int]:
    """`units` as flat (units, repeats) pairs."""
    runs: list[int] = []
    for unit in units:
        if runs and runs[-2] == unit:
            runs[-1] += 1
        else:
            runs += [unit, 1]
    return runs


def _from_runs(runs: Sequence[int]) -> list[int]:
    return [
        unit for unit, repeats in zip(runs[::2], runs[1::2], strict=True) for _ in range(repeats)
    ]


@dataclass(frozen=True, slots=True)
class SlotCounter:
    """An account's counter: the first slot nobody has taken (None: never used) and the units
    of the `span - 1` slots before it, oldest first."""

    next_slot: int | None
    recent: tuple[int, ...] = ()

    @classmethod
    def from_item(cls, item: Mapping[str, Any], span: int) -> "SlotCounter":
        """The counter as stored. A slot it has no units for (an item written before they were
        kept) counts one unit, as it may have carried."""
        if COUNTER not in item:
            return cls(None)
        known = _from_runs([int(value["N"]) for value in item.get(RECENT, {}).get("L", [])])
        return cls(int(item[COUNTER]["N"]), _last([1] * span + known, span - 1))

    def take(self, now_slot: int, cost: int, span: int) -> tuple[int, "SlotCounter"]:
        """The first slot from `now_slot` on where `cost` units keep any `span` consecutive
        slots within `span` units (only the window ending with it can overflow: the slots
        after it are free), and the counter once it is taken."""
        cost = min(cost, span)  # more than a window's worth: it goes alone in its window
        start = now_slot if self.next_slot is None else max(self.next_slot, now_slot)
        before = self._units_before(start, span)
        over = sum(before) + cost - span
        skip = 0
        while over > 0:  # each slot waited takes the oldest one's units out of the window
            over -= before[skip]
            skip += 1
        slot = start + skip
        return slot, SlotCounter(slot + 1, _last([*before, *[0] * skip, cost], span - 1))

    def _units_before(self, slot: int, span: int) -> tuple[int, ...]:
        """The units of the `span - 1` slots before `slot` (at or past the first free one)."""
        if self.next_slot is None:
            return (0,) * (span - 1)
        idle = min(slot - self.next_slot, span)  # free slots between the counter and `slot`
        return _last([*self.recent, *[0] * idle], span - 1)


class RateBudgetExceeded(Throttled):
    """The next free slot is further away than the caller can wait; try the message later."""


class SlotRateLimiter:
    def __init__(
        self,
        table_name: str,
        account: str,
        rate_per_second: float,
        *,
        margin: float = DEFAULT_MARGIN,
        tolerance: float = DEFAULT_TOLERANCE,
        client: "DynamoDBClient | None" = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._key: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": f"RATE#{account}"},
            "sk": {"S": COUNTER_SK},
        }
        self.slot_seconds = slot_seconds(rate_per_second, margin)
        self.span = window_slots(rate_per_second, margin)
        self._tolerance = tolerance
        self._client_instance = client
        self._clock = clock
        self._sleep = sleep
        # The counter as this process last wrote or read it: right unless another process
        # took slots since, which the failed write then returns.
        self._counter = SlotCounter(None)
        self._taking = threading.Lock()

    @property
    def _client(self) -> "DynamoDBClient":
        return self._client_instance or clients.dynamodb()

    def acquire(self, max_wait: float, cost: int = 1) -> None:
        """Return when this caller may send a request of `cost` units now; waits at most
        `max_wait` seconds."""
        give_up = self._clock() + max_wait
        while True:
            start = self._take(give_up, cost) * self.slot_seconds
            wait = start - self._clock()
            if wait > 0:
                metrics.add_metric(name="ThrottledWaitMs", unit="Milliseconds", value=wait * 1000)
                self._sleep(wait)
            if self._clock() <= start + self._tolerance:
                return

    def _take(self, give_up: float, cost: int) -> int:
        """Take the first slot where `cost` units fit; its number. Refuses, taking none, when
        that slot starts after `give_up`."""
        # This process's callers take in turn, so none loses a write to another.
        with self._taking:
            while True:
                seen = self._counter
                now_slot = math.floor(self._clock() / self.slot_seconds) + 1
                slot, taken = seen.take(now_slot, cost, self.span)
                if slot * self.slot_seconds > give_up:
                    away = slot * self.slot_seconds - self._clock()
                    raise RateBudgetExceeded(f"the next free slot is {away:.1f}s away")
                written = conditional(partial(self._write, seen, taken))
                if not isinstance(written, ConditionFailed):
                    self._counter = taken
                    return slot
                # Another process took slots meanwhile: start again from its counter.
                self._counter = SlotCounter.from_item(written.item, self.span)

    def _write(self, seen: SlotCounter, taken: SlotCounter) -> None:
        """Store `taken` if the counter is still `seen` (its next slot only ever grows, so an
        equal one means nobody took a slot since); the item as it was when it is not."""
        values: dict[str, AttributeValueTypeDef] = {
            ":next": {"N": str(taken.next_slot)},
            ":recent": {"L": [{"N": str(number)} for number in _runs(taken.recent)]},
        }
        if seen.next_slot is None:
            condition = "attribute_not_exists(#next)"
        else:
            condition = "#next = :seen"
            values[":seen"] = {"N": str(seen.next_slot)}
        self._client.update_item(
            TableName=self._table,
            Key=self._key,
            UpdateExpression="SET #next = :next, #recent = :recent",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#next": COUNTER, "#recent": RECENT},
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
