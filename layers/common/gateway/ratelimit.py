"""A rate limiter shared by every concurrent sender invocation, through DynamoDB.

Time is cut into slots of `(1 + margin) / rate` seconds, and each request to the carrier
first claims a slot: a conditional put of `RATE#{account}` / `SLOT#{n}`, which only one
invocation can win. The winner sends no earlier than its slot's start and no later than
`tolerance` after it (a sender that woke up late claims a new slot rather than send late),
so any `rate + 1` requests are at least `rate * slot - tolerance` seconds apart: more than
one second whenever `margin` covers `tolerance` and the network's jitter. No sliding
one-second window ever sees more than `rate` requests, while the account's allowance is
used to within the margin.

A request that costs `c` units (a multi-part SMS on an account billed per segment) claims
`2c - 1` consecutive slots in one transaction and goes at the middle one: the `c - 1` slots
on each side keep both the window before it and the window after it within the rate.
"""

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from gateway import aws_clients
from gateway.carrier_errors import Throttled
from gateway.observability import metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

DEFAULT_MARGIN = 0.04
DEFAULT_TOLERANCE = 0.015
SLOT_TTL_SECONDS = 120


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
        self._pk = {"S": f"RATE#{account}"}
        self.slot_seconds = slot_seconds(rate_per_second, margin)
        self._tolerance = tolerance
        self._client_instance = client
        self._clock = clock
        self._sleep = sleep

    @property
    def _client(self) -> "DynamoDBClient":
        return self._client_instance or aws_clients.dynamodb()

    def acquire(self, max_wait: float, cost: int = 1) -> None:
        """Return when this caller may send a request of `cost` units now; waits at most
        `max_wait` seconds."""
        give_up = self._clock() + max_wait
        span = slots_for(cost)
        first = self._next_slot()
        while True:
            slot = first + cost - 1  # the one we send in
            start = slot * self.slot_seconds
            if start > give_up:
                raise RateBudgetExceeded(f"no free slot within {max_wait:.1f}s")
            if not self._claim(first, span):
                first += 1
                continue
            wait = start - self._clock()
            if wait > 0:
                metrics.add_metric(name="ThrottledWaitMs", unit="Milliseconds", value=wait * 1000)
                self._sleep(wait)
            if self._clock() <= start + self._tolerance:
                return
            first = max(first + 1, self._next_slot())

    def _next_slot(self) -> int:
        return math.floor(self._clock() / self.slot_seconds) + 1

    def _claim(self, first: int, span: int) -> bool:
        """Claim slots first .. first + span - 1, all or none."""
        puts: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": self._pk,
                        "sk": {"S": f"SLOT#{slot}"},
                        "expiresAt": {"N": str(int(self._clock()) + SLOT_TTL_SECONDS)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for slot in range(first, first + span)
        ]
        try:
            if span == 1:
                self._client.put_item(**puts[0]["Put"])
            else:
                self._client.transact_write_items(TransactItems=puts)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                return False
            raise
        return True
