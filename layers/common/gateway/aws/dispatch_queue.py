"""Waking lane dispatchers (`gateway.core.dispatching.Wakeup`) through the dispatch queue: a
message `{"lane": ...}` invokes the dispatcher function for that lane.

A lane whose dispatcher holds its lease is not woken: it sees new messages on its next pick.
A wake-up for later is a delayed message (15 minutes at most: SQS's limit; a dispatcher that
finds nothing due sets the next one), at most one pending per lane and time: the lane's
`timerAt` in the table is set only when no earlier wake-up is pending, so the chain of
wake-ups does not multiply however many messages are scheduled.
"""

import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.aws import clients
from gateway.aws.dynamo import TableStore, to_item, written
from gateway.aws.locks import LeaseLock
from gateway.core.intake import Wakes
from gateway.core.model import utc_text
from gateway.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

MAX_DELAY_SECONDS = 900  # SQS's own limit on a message's delay
BATCH = 10  # entries per SendMessageBatch


def dispatch_lease_name(lane: str) -> str:
    return f"dispatch#{lane}"


class DispatchQueue(TableStore):
    def __init__(
        self,
        table_name: str,
        queue_url: str,
        *,
        lease: Callable[[str], LeaseLock],
        client: "DynamoDBClient | None" = None,
    ) -> None:
        super().__init__(table_name, client)
        self._queue_url = queue_url
        self._lease = lease

    def wake(self, lanes: Sequence[str]) -> None:
        idle = [lane for lane in dict.fromkeys(lanes) if not self._lease(lane).held()]
        for start in range(0, len(idle), BATCH):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(n), "MessageBody": json.dumps({"lane": lane})}
                for n, lane in enumerate(idle[start : start + BATCH])
            ]
            answer = clients.sqs().send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            if failed := answer.get("Failed"):
                raise WakeupNotSent(f"{len(failed)} wake-up(s) refused: {failed[0].get('Code')}")

    def wake_all(self, wakes: Wakes) -> None:
        """Wake a batch's lanes. A wake-up lost (the queue failing) is logged and counted: the
        lanes' minute tick finds their messages all the same."""
        try:
            self.wake(sorted(wakes.now))
            for lane, due_at in wakes.later.items():
                self.wake_at(lane, due_at)
        except clients.AWS_FAILURES as exc:
            logger.warning("lanes not woken", lanes=sorted(wakes.now), error=type(exc).__name__)
            metrics.add_metric(name="WakeupsLost", unit="Count", value=1)

    def wake_at(self, lane: str, at: str) -> None:
        now = datetime.now(UTC)
        wait = (datetime.fromisoformat(at) - now).total_seconds()
        delay = min(MAX_DELAY_SECONDS, max(0, math.ceil(wait)))
        fires = min(at, utc_text(now + timedelta(seconds=delay)))
        if not self._arm(lane, fires, utc_text(now)):
            return  # an earlier wake-up is pending
        clients.sqs().send_message(
            QueueUrl=self._queue_url,
            MessageBody=json.dumps({"lane": lane, "at": fires}),
            DelaySeconds=delay,
        )

    def _arm(self, lane: str, fires: str, now: str) -> bool:
        """Take the lane's timer for `fires` unless one fires sooner (and not in the past)."""
        return written(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=to_item({"pk": f"LANE#{lane}", "sk": "TIMER"}),
                UpdateExpression="SET timerAt = :fires",
                ConditionExpression=(
                    "attribute_not_exists(timerAt) OR timerAt > :fires OR timerAt < :now"
                ),
                ExpressionAttributeValues=to_item({":fires": fires, ":now": now}),
            )
        )


class WakeupNotSent(Exception):
    """SQS refused a wake-up: the minute's tick wakes the lane instead."""
