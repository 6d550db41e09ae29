"""A lease lock in DynamoDB (`LOCK#{name}`): one holder across every concurrent invocation.

The lease expires by itself, so a holder that dies never blocks the others for long.
"""

import time
import uuid
from typing import TYPE_CHECKING

from gateway.aws import clients
from gateway.aws.dynamo import conditional, written

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class LeaseLock:
    def __init__(
        self,
        table_name: str,
        name: str,
        *,
        lease_seconds: float = 30.0,
        client: "DynamoDBClient | None" = None,
    ) -> None:
        self._table = table_name
        self._key = {"pk": {"S": f"LOCK#{name}"}, "sk": {"S": "LOCK"}}
        self._lease = lease_seconds
        self._owner = str(uuid.uuid4())
        self._client_instance = client

    @property
    def _client(self) -> "DynamoDBClient":
        return self._client_instance or clients.dynamodb()

    def acquire(self) -> bool:
        now = time.time()
        return written(
            lambda: self._client.put_item(
                TableName=self._table,
                Item={
                    **self._key,
                    "owner": {"S": self._owner},
                    "leaseUntil": {"N": f"{now + self._lease:.3f}"},
                    "expiresAt": {"N": str(int(now + self._lease) + 3600)},
                },
                ConditionExpression="attribute_not_exists(pk) OR leaseUntil < :now",
                ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
            )
        )

    def held(self) -> bool:
        """Whether someone holds the lock now (a strongly consistent read)."""
        item = self._client.get_item(TableName=self._table, Key=self._key, ConsistentRead=True)
        lease = item.get("Item", {}).get("leaseUntil", {}).get("N")
        return lease is not None and float(lease) > time.time()

    def release(self) -> None:
        # A failed condition: our lease ran out and someone else holds the lock now, theirs
        # to release.
        conditional(
            lambda: self._client.delete_item(
                TableName=self._table,
                Key=self._key,
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self._owner}},
            )
        )
