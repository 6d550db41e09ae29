"""Orange balance snapshots in DynamoDB: `ACCOUNT#{account}` / `BALANCE#{country}#{time}`, and a
`LATEST#{country}` copy the sender's holds read."""

from datetime import datetime
from typing import Any

from gateway.aws.dynamo import RETENTION_SECONDS, TableStore, from_item, to_item


class BalanceRepository(TableStore):
    """`ACCOUNT#{account}`: `BALANCE#{country}#{time}` snapshots and a `LATEST#{country}` copy."""

    def put_snapshot(self, account: str, country: str, taken: str, values: dict[str, Any]) -> None:
        record = {"account": account, "country": country, "takenAt": taken, **values}
        expires = int(datetime.fromisoformat(taken).timestamp()) + RETENTION_SECONDS
        for sk in (f"BALANCE#{country}#{taken}", f"LATEST#{country}"):
            item = {"pk": f"ACCOUNT#{account}", "sk": sk, **record, "expiresAt": expires}
            self._client.put_item(TableName=self._table, Item=to_item(item))

    def latest_for(self, account: str, country: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"ACCOUNT#{account}", "sk": f"LATEST#{country}"}),
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def latest(self, account: str) -> list[dict[str, Any]]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :latest)",
            ExpressionAttributeValues=to_item({":pk": f"ACCOUNT#{account}", ":latest": "LATEST#"}),
        )
        return [from_item(item) for item in response.get("Items", [])]
