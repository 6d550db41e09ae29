"""A rate limiter shared by every concurrent sender invocation, through DynamoDB.

Time is cut into slots of `(1 + margin) / rate` seconds, and each request to the carrier
first takes a slot: the account's ticket counter (`RATE#{account}` / `NEXT`) hands out slot
numbers in order, one atomic update each, so no two callers ever hold the same slot and a
busy account's callers queue for the next ones instead of racing for them. A counter left
behind by an idle spell is moved up to now. The holder sends no earlier than its slot's
start and no later than `tolerance` after it (a caller that woke up late takes a new slot
rather than send late), so any `rate + 1` requests are at least `rate * slot - tolerance`
seconds apart: more than one second whenever `margin` covers `tolerance` and the network's
jitter. No sliding one-second window ever sees more than `rate` requests, while the
account's allowance is used to within the margin.

A request that costs `c` units (a multi-part SMS on an account billed per segment) takes
`2c - 1` consecutive slots in one update and goes at the middle one: the `c - 1` slots on
each side keep both the window before it and the window after it within the rate.
"""

import math
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

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


def slot_seconds(rate_per_second: float, margin: float = DEFAULT_MARGIN) -> float:
    """How long one slot lasts: a little over `1 / rate`, so the margin covers jitter."""
    return (1.0 + margin) / rate_per_second


def slots_for(cost: int) -> int:
    """The slots a request of `cost` units takes: the one it goes in and `cost - 1` on each
    side (see above)."""
    return 2 * cost - 1


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
        self._tolerance = tolerance
        self._client_instance = client
        self._clock = clock
        self._sleep = sleep

    @property
    def _client(self) -> "DynamoDBClient":
        return self._client_instance or clients.dynamodb()

    def acquire(self, max_wait: float, cost: int = 1) -> None:
        """Return when this caller may send a request of `cost` units now; waits at most
        `max_wait` seconds."""
        give_up = self._clock() + max_wait
        while True:
            first = self._take(slots_for(cost), give_up, cost)
            start = (first + cost - 1) * self.slot_seconds  # the middle slot: we send in it
            wait = start - self._clock()
            if wait > 0:
                metrics.add_metric(name="ThrottledWaitMs", unit="Milliseconds", value=wait * 1000)
                self._sleep(wait)
            if self._clock() <= start + self._tolerance:
                return

    def _take(self, span: int, give_up: float, cost: int) -> int:
        """Take `span` consecutive slots from the counter; the first one. Refuses, without
        taking any, when the one we would send in starts after `give_up`."""
        while True:
            now_slot = math.floor(self._clock() / self.slot_seconds) + 1
            last_first = math.floor(give_up / self.slot_seconds) - cost + 1
            if last_first < now_slot:
                raise RateBudgetExceeded(f"no free slot within {give_up - self._clock():.1f}s")
            taken = conditional(partial(self._advance, span, now_slot, last_first))
            if not isinstance(taken, ConditionFailed):
                return taken
            current = taken.item.get(COUNTER)
            if current is not None and int(current["N"]) > last_first:
                raise RateBudgetExceeded("the account's queue for slots is too long to wait")
            restarted = conditional(partial(self._restart, span, now_slot))
            if not isinstance(restarted, ConditionFailed):
                return restarted
            # Another caller moved the counter meanwhile: take a ticket from it.

    def _advance(self, span: int, now_slot: int, last_first: int) -> int:
        """The usual case, one update: take the counter's next slots if they are neither past
        nor too far ahead."""
        before = self._update(
            "SET #next = #next + :span",
            "#next BETWEEN :now AND :last",
            {":span": span, ":now": now_slot, ":last": last_first},
        )
        return int(before[COUNTER]["N"])

    def _restart(self, span: int, now_slot: int) -> int:
        """The counter is behind now (or new): move it up, taking the slots from now on."""
        self._update(
            "SET #next = :after",
            "attribute_not_exists(#next) OR #next < :now",
            {":after": now_slot + span, ":now": now_slot},
        )
        return now_slot

    def _update(
        self, expression: str, condition: str, numbers: dict[str, int]
    ) -> dict[str, "AttributeValueTypeDef"]:
        """Update the counter under `condition`; its attributes as they were (on a failed
        condition too, in the ClientError's response)."""
        response = self._client.update_item(
            TableName=self._table,
            Key=self._key,
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#next": COUNTER},
            ExpressionAttributeValues={name: {"N": str(n)} for name, n in numbers.items()},
            ReturnValues="UPDATED_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return dict(response.get("Attributes", {}))
