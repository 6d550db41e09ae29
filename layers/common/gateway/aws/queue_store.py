"""`gateway.core.store.LaneQueue` on DynamoDB: the messages waiting per lane, in the gateway's
table, read with strongly consistent queries (a GSI would be eventually consistent, and a
message just queued must be seen by the lane's next pick).

| item            | pk              | sk                          |
|-----------------|-----------------|-----------------------------|
| ready           | READY#{lane}    | {rank}#{queuedAt}#{id}      |
| due later       | LATER#{lane}    | {dueAt}#{id}                |

A ready lane is read in sort-key order: all `high` (rank 0) before `normal` (1) before `bulk`
(2), the oldest first within each, so one Query gives the next message to send. Items carry a
TTL: one left behind by a dispatcher that died is dropped by DynamoDB, and skipped before that
(its message is no longer `accepted`).
"""

from gateway.aws.dynamo import TableStore, from_item, to_item
from gateway.core.model import epoch_seconds
from gateway.core.store import QueueEntry

READY = "READY#"
LATER = "LATER#"
# Longer than any wait: sendAt is at most 30 days ahead, a hold at most 14 days.
QUEUE_RETENTION_SECONDS = 45 * 24 * 3600


class QueueStore(TableStore):
    def push(self, entry: QueueEntry, due_at: str | None = None) -> None:
        if due_at is None:
            key = {"pk": f"{READY}{entry.lane}", "sk": entry.position}
        else:
            key = {"pk": f"{LATER}{entry.lane}", "sk": f"{due_at}#{entry.message_id}"}
        item = {
            **key,
            "messageId": entry.message_id,
            "position": entry.position,
            "expiresAt": epoch_seconds(due_at or _queued_at(entry)) + QUEUE_RETENTION_SECONDS,
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def ready(self, lane: str, limit: int) -> list[QueueEntry]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"{READY}{lane}"}),
            ConsistentRead=True,
            Limit=limit,
        )
        return [self._entry(lane, from_item(raw)) for raw in response.get("Items", [])]

    def remove(self, entry: QueueEntry) -> None:
        self._client.delete_item(
            TableName=self._table,
            Key=to_item({"pk": f"{READY}{entry.lane}", "sk": entry.position}),
        )

    def promote(self, lane: str, now: str, limit: int) -> int:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk <= :now",
            # `~` sorts after every id character: everything due at `now` itself is in.
            ExpressionAttributeValues=to_item({":pk": f"{LATER}{lane}", ":now": f"{now}#~"}),
            ConsistentRead=True,
            Limit=limit,
        )
        items = [from_item(raw) for raw in response.get("Items", [])]
        for item in items:
            # Ready first, then gone from later: a crash between the two leaves a duplicate,
            # which the same key makes harmless, never a message in neither.
            self.push(self._entry(lane, item))
            self._client.delete_item(
                TableName=self._table, Key=to_item({"pk": item["pk"], "sk": item["sk"]})
            )
        return len(items)

    def next_due(self, lane: str) -> str | None:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"{LATER}{lane}"}),
            ConsistentRead=True,
            Limit=1,
        )
        items = response.get("Items", [])
        return str(from_item(items[0])["sk"]).rpartition("#")[0] if items else None

    @staticmethod
    def _entry(lane: str, item: dict[str, object]) -> QueueEntry:
        return QueueEntry(lane, str(item["messageId"]), str(item["position"]))


def _queued_at(entry: QueueEntry) -> str:
    """The queued time a position holds (`{rank}#{queuedAt}#{id}`)."""
    return entry.position.split("#", 2)[1]
