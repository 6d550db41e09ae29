"""DynamoDB access for messages, provider references and early receipts (DESIGN.md, "State").

| item            | pk                          | sk                   |
|-----------------|-----------------------------|----------------------|
| message         | MSG#{id}                    | MSG                  |
| provider ref    | REF#{provider}#{ref}        | MSG                  |
| early receipt   | REF#{provider}#{ref}        | EARLY#{at}#{key}     |

The provider reference is an item of the base table, written in the same transaction as the
`submitted` state, rather than a GSI: GSIs are eventually consistent, and a receipt that
arrives within milliseconds of the send must find its message or be kept as early, never
fall between the two.

Every message write is conditional on the version it read (optimistic locking), so
concurrent receipts and sends never overwrite each other.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from gateway import aws_clients
from gateway.lifecycle import Progress, StatusUpdate
from gateway.model import Message
from gateway.status import FINAL, Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

MESSAGE_SK = "MSG"
# The sparse index of messages still waiting for a final receipt, spread over a few
# partitions so that a busy gateway's index has no hot key.
DEADLINE_INDEX = "ByFinalDeadline"
DEADLINE_SHARDS = 4
# The sparse index of messages whose status is polled for (Orange PL), by next poll time.
POLL_INDEX = "ByNextPoll"
EARLY_PREFIX = "EARLY#"
RETENTION_SECONDS = 180 * 24 * 3600
EARLY_RETENTION_SECONDS = 7 * 24 * 3600

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the domain wants int."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _expiry(message: Message) -> int:
    """TTL: messages and their references are kept RETENTION_SECONDS after creation."""
    return int(datetime.fromisoformat(message.created_at).timestamp()) + RETENTION_SECONDS


def _shard(message_id: str) -> str:
    return f"OPEN#{int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % DEADLINE_SHARDS}"


def message_key(message_id: str) -> dict[str, Any]:
    return _to_item({"pk": f"MSG#{message_id}", "sk": MESSAGE_SK})


def ref_pk(provider: str, ref: str) -> str:
    return f"REF#{provider}#{ref}"


class _TableRepository:
    """One kind of item in the gateway's table; the client is built on first use."""

    def __init__(self, table_name: str, client: "DynamoDBClient | None" = None) -> None:
        self._table = table_name
        self._client_instance = client

    @property
    def _client(self) -> "DynamoDBClient":
        return self._client_instance or aws_clients.dynamodb()


class MessageRepository(_TableRepository):
    # ---------------------------------------------------------------- messages
    def create(self, message: Message) -> bool:
        """Store a new message; False when one with this id already exists."""
        item = _to_item({"pk": f"MSG#{message.id}", "sk": MESSAGE_SK, **self._fields(message)})
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def get(self, message_id: str) -> Message | None:
        response = self._client.get_item(
            TableName=self._table, Key=message_key(message_id), ConsistentRead=True
        )
        item = response.get("Item")
        return self._message(_from_item(item)) if item else None

    def save(self, before: Message, after: Message) -> bool:
        """Write `after` if the stored message is still `before`; False when it moved on."""
        try:
            self._client.put_item(**self._conditional_put(before, after))
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def save_with_ref(self, before: Message, after: Message) -> bool:
        """`save` plus the provider-reference item, in one transaction."""
        if not (after.provider and after.provider_ref):
            raise ValueError("save_with_ref needs the provider and its reference")
        put = self._conditional_put(before, after)
        pointer = _to_item(
            {
                "pk": ref_pk(after.provider, after.provider_ref),
                "sk": MESSAGE_SK,
                "messageId": after.id,
                "expiresAt": _expiry(after),
            }
        )
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {"Put": cast("PutTypeDef", put)},
                    {"Put": {"TableName": self._table, "Item": pointer}},
                ]
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def message_id_for_ref(self, provider: str, ref: str) -> str | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=_to_item({"pk": ref_pk(provider, ref), "sk": MESSAGE_SK}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return str(_from_item(item)["messageId"]) if item else None

    def overdue(self, now: str) -> Iterator[str]:
        """Ids of messages whose final receipt was due before `now` (the sparse index)."""
        paginator = self._client.get_paginator("query")
        for shard in range(DEADLINE_SHARDS):
            pages = paginator.paginate(
                TableName=self._table,
                IndexName=DEADLINE_INDEX,
                KeyConditionExpression="openShard = :shard AND finalBy < :now",
                ExpressionAttributeValues=_to_item({":shard": f"OPEN#{shard}", ":now": now}),
            )
            for page in pages:
                for item in page.get("Items", []):
                    yield str(_from_item(item)["pk"]).removeprefix("MSG#")

    def due_polls(self, now: str, limit: int) -> list[tuple[str, str, int]]:
        """(id, provider reference, polls so far) of the messages due a poll, oldest first."""
        due: list[tuple[str, str, str, int]] = []
        for shard in range(DEADLINE_SHARDS):
            response = self._client.query(
                TableName=self._table,
                IndexName=POLL_INDEX,
                KeyConditionExpression="pollShard = :shard AND nextPollAt <= :now",
                ExpressionAttributeValues=_to_item({":shard": f"OPEN#{shard}", ":now": now}),
                Limit=limit,
            )
            for raw in response.get("Items", []):
                item = _from_item(raw)
                message_id = str(item["pk"]).removeprefix("MSG#")
                due.append((item["nextPollAt"], message_id, item["providerRef"], item["polls"]))
        return [(i, ref, polls) for _, i, ref, polls in sorted(due)[:limit]]

    # ---------------------------------------------------------------- early receipts
    def keep_early(self, provider: str, ref: str, update: StatusUpdate, *, now: int) -> None:
        digest = hashlib.sha256(update.dedupe_key.encode()).hexdigest()[:16]
        item = _to_item(
            {
                "pk": ref_pk(provider, ref),
                "sk": f"{EARLY_PREFIX}{update.at}#{digest}",
                **update.as_history(),
                "expiresAt": now + EARLY_RETENTION_SECONDS,
            }
        )
        self._client.put_item(TableName=self._table, Item=item)

    def early_updates(self, provider: str, ref: str) -> list[tuple[str, StatusUpdate]]:
        """Receipts kept for this reference, oldest first, with the key to drop each."""
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :early)",
            ExpressionAttributeValues=_to_item(
                {":pk": ref_pk(provider, ref), ":early": EARLY_PREFIX}
            ),
            ConsistentRead=True,
        )
        updates = []
        for raw in response.get("Items", []):
            item = _from_item(raw)
            update = StatusUpdate(
                status=Status(item["status"]),
                at=item["at"],
                source=item["source"],
                provider_status=item.get("providerStatus"),
                reason=item.get("reason"),
            )
            updates.append((str(item["sk"]), update))
        return updates

    def drop_early(self, provider: str, ref: str, sk: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key=_to_item({"pk": ref_pk(provider, ref), "sk": sk})
        )

    # ---------------------------------------------------------------- mapping
    def _conditional_put(self, before: Message, after: Message) -> dict[str, Any]:
        stored = replace(after, version=before.version + 1)
        return {
            "TableName": self._table,
            "Item": _to_item({"pk": f"MSG#{after.id}", "sk": MESSAGE_SK, **self._fields(stored)}),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": _to_item({":v": before.version}),
        }

    @staticmethod
    def _fields(message: Message) -> dict[str, Any]:
        progress = message.progress
        return {
            "id": message.id,
            "channel": message.channel,
            "to": message.to,
            "createdAt": message.created_at,
            "status": str(progress.status),
            "providerStatus": progress.provider_status,
            "reason": progress.reason,
            "updatedAt": progress.updated_at,
            "history": list(progress.history),
            # DynamoDB refuses empty sets.
            "seen": set(progress.seen) or None,
            "provider": message.provider,
            "providerRef": message.provider_ref,
            "account": message.account,
            "country": message.country,
            "senderName": message.sender_name,
            "onNet": message.on_net,
            "segments": message.segments,
            "attempts": message.attempts,
            "sendStartedAt": message.send_started_at,
            "finalBy": message.final_by,
            # In the index only while a final receipt is awaited: a sparse index.
            "openShard": _shard(message.id)
            if message.final_by and message.status not in FINAL
            else None,
            "nextPollAt": message.next_poll_at,
            "polls": message.polls,
            "pollShard": _shard(message.id)
            if message.next_poll_at and message.status not in FINAL
            else None,
            # JSON text: metadata may hold floats, which DynamoDB's types cannot.
            "metadata": json.dumps(message.metadata) if message.metadata else None,
            "version": message.version,
            "expiresAt": _expiry(message),
        }

    @staticmethod
    def _message(item: dict[str, Any]) -> Message:
        return Message(
            id=item["id"],
            channel=item["channel"],
            to=item["to"],
            created_at=item["createdAt"],
            progress=Progress(
                status=Status(item["status"]),
                provider_status=item.get("providerStatus"),
                reason=item.get("reason"),
                updated_at=item.get("updatedAt"),
                history=tuple(item.get("history", [])),
                seen=frozenset(item.get("seen", set())),
            ),
            provider=item.get("provider"),
            provider_ref=item.get("providerRef"),
            account=item.get("account"),
            country=item.get("country"),
            sender_name=item.get("senderName"),
            on_net=bool(item.get("onNet", False)),
            segments=item.get("segments"),
            attempts=item.get("attempts", 0),
            send_started_at=item.get("sendStartedAt"),
            final_by=item.get("finalBy"),
            next_poll_at=item.get("nextPollAt"),
            polls=item.get("polls", 0),
            metadata=json.loads(item["metadata"]) if "metadata" in item else {},
            version=item.get("version", 0),
        )


def message_from_image(image: dict[str, Any]) -> Message:
    """The message a DynamoDB stream image (`NewImage`, `OldImage`) holds."""
    return MessageRepository._message(_from_item(image))


def is_message_key(keys: dict[str, Any]) -> bool:
    """Whether stream record keys are a message's (not a pointer, slot, lock or snapshot)."""
    return keys.get("sk") == {"S": MESSAGE_SK} and keys.get("pk", {}).get("S", "").startswith(
        "MSG#"
    )


class InboundRepository(_TableRepository):
    """Mobile-originated messages: `MO#{id}` / `MO`, created once, then marked published."""

    def create(self, inbound_id: str, record: dict[str, Any], *, now: int) -> bool:
        """Store the record unpublished; False when it exists (the peer retried)."""
        item = {
            "pk": f"MO#{inbound_id}",
            "sk": "MO",
            **record,
            "published": False,
            "expiresAt": now + RETENTION_SECONDS,
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def get(self, inbound_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=_to_item({"pk": f"MO#{inbound_id}", "sk": "MO"}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _from_item(item) if item else None

    def mark_published(self, inbound_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=_to_item({"pk": f"MO#{inbound_id}", "sk": "MO"}),
            UpdateExpression="SET published = :yes",
            ExpressionAttributeValues=_to_item({":yes": True}),
        )


class BalanceRepository(_TableRepository):
    """`ACCOUNT#{account}`: `BALANCE#{country}#{time}` snapshots and a `LATEST#{country}` copy."""

    def put_snapshot(self, account: str, country: str, taken: str, values: dict[str, Any]) -> None:
        record = {"account": account, "country": country, "takenAt": taken, **values}
        expires = int(datetime.fromisoformat(taken).timestamp()) + RETENTION_SECONDS
        for sk in (f"BALANCE#{country}#{taken}", f"LATEST#{country}"):
            item = {"pk": f"ACCOUNT#{account}", "sk": sk, **record, "expiresAt": expires}
            self._client.put_item(TableName=self._table, Item=_to_item(item))

    def latest_for(self, account: str, country: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=_to_item({"pk": f"ACCOUNT#{account}", "sk": f"LATEST#{country}"}),
        )
        item = response.get("Item")
        return _from_item(item) if item else None

    def latest(self, account: str) -> list[dict[str, Any]]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :latest)",
            ExpressionAttributeValues=_to_item({":pk": f"ACCOUNT#{account}", ":latest": "LATEST#"}),
        )
        return [_from_item(item) for item in response.get("Items", [])]
