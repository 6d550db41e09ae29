"""Mobile-originated messages in DynamoDB: `MO#{id}` / `MO`."""

from typing import Any

from gateway.aws.dynamo import RETENTION_SECONDS, TableStore, from_item, to_item, written
from gateway.core.model import epoch_seconds


class InboundRepository(TableStore):
    """Mobile-originated messages: `MO#{id}` / `MO`, created once, then marked published."""

    def create(self, inbound_id: str, record: dict[str, Any]) -> bool:
        """Store the record unpublished; False when it exists (the peer retried)."""
        item = {
            "pk": f"MO#{inbound_id}",
            "sk": "MO",
            **record,
            "published": False,
            "expiresAt": epoch_seconds(record["receivedAt"]) + RETENTION_SECONDS,
        }
        return written(
            lambda: self._client.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        )

    def get(self, inbound_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"MO#{inbound_id}", "sk": "MO"}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def mark_published(self, inbound_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=to_item({"pk": f"MO#{inbound_id}", "sk": "MO"}),
            UpdateExpression="SET published = :yes",
            ExpressionAttributeValues=to_item({":yes": True}),
        )
