"""DynamoDB access for messages, provider references and early receipts (DESIGN.md, "State").

| item            | pk                          | sk                   |
|-----------------|-----------------------------|----------------------|
| message         | MSG#{id}                    | MSG                  |
| provider ref    | REF#{provider}#{ref}        | MSG                  |
| early receipt   | REF#{provider}#{ref}        | EARLY#{at}#{key}     |
| campaign cancel | CAMPAIGN#{campaign}         | CANCELLED            |

Only message items carry `to`, `createdAt`, `createdDay` and `campaign`, the keys of the
indexes a search reads (`ByRecipient`, `ByDay`, `ByCampaign`): nothing else ever lands in them.

The provider reference is an item of the base table, written in the same transaction as the
`submitted` state, rather than a GSI: GSIs are eventually consistent, and a receipt that
arrives within milliseconds of the send must find its message or be kept as early, never
fall between the two.

Every message write is conditional on the version it read (optimistic locking), so
concurrent receipts and sends never overwrite each other.
"""

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from gateway.aws.dynamo import (
    RETENTION_SECONDS,
    ConditionFailed,
    TableStore,
    conditional,
    from_item,
    to_item,
    written,
)
from gateway.core.lifecycle import HISTORY_LIMIT, Progress, StatusUpdate
from gateway.core.model import Message, epoch_seconds
from gateway.core.status import FINAL, Status
from gateway.core.store import By, IndexEntry, Partition, utc_day

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

MESSAGE_SK = "MSG"
# The sparse index of messages still waiting for a final receipt, spread over a few
# partitions so that a busy gateway's index has no hot key.
DEADLINE_INDEX = "ByFinalDeadline"
DEADLINE_SHARDS = 4
# The sparse index of messages whose status is polled for (Orange PL), by next poll time.
POLL_INDEX = "ByNextPoll"
EARLY_PREFIX = "EARLY#"
# The sparse index of messages with a campaign, and a cancelled campaign's mark.
CAMPAIGN_INDEX = "ByCampaign"
KEPT_INDEX = "ByKeptReceipt"
KEPT_SHARD = "EARLY"  # a receipt is kept rarely and briefly: one partition holds them
CANCELLED_SK = "CANCELLED"
EARLY_RETENTION_SECONDS = 7 * 24 * 3600
# The indexes a search reads (gateway.core.search), by what they are keyed on: (index, key
# attribute). Keys only, and a message's keys never change, so its later writes (a whole new
# item each) never write to them.
SEARCH_INDEXES = {
    By.RECIPIENT: ("ByRecipient", "to"),
    By.CAMPAIGN: (CAMPAIGN_INDEX, "campaign"),
    By.DAY: ("ByDay", "createdDay"),
}
# BatchGetItem leaves keys unread when throttled: they are asked for again, with backoff.
BATCH_GET_ATTEMPTS = 5
BATCH_GET_BACKOFF_SECONDS = 0.05


def _expiry(message: Message) -> int:
    """TTL: messages and their references are kept RETENTION_SECONDS after creation."""
    return epoch_seconds(message.created_at) + RETENTION_SECONDS


def _shard(message_id: str) -> str:
    return f"OPEN#{int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % DEADLINE_SHARDS}"


def message_key(message_id: str) -> dict[str, Any]:
    return to_item({"pk": f"MSG#{message_id}", "sk": MESSAGE_SK})


def ref_pk(provider: str, ref: str) -> str:
    return f"REF#{provider}#{ref}"


class MessageRepository(TableStore):
    """The DynamoDB implementation of `gateway.core.store.MessageStore`."""

    # ---------------------------------------------------------------- messages
    def create(self, message: Message) -> bool:
        """Store a new message; False when one with this id already exists."""
        item = to_item({"pk": f"MSG#{message.id}", "sk": MESSAGE_SK, **self._fields(message)})
        return written(
            lambda: self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        )

    def claim(self, message_id: str, now: str, lease_until: str) -> Message | None:
        answer = conditional(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=message_key(message_id),
                UpdateExpression=(
                    "SET sendStartedAt = :now, attempts = if_not_exists(attempts, :zero) + :one,"
                    " version = version + :one, finalBy = :lease, openShard = :shard"
                ),
                ConditionExpression="#status = :accepted AND attribute_not_exists(sendStartedAt)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":now": now,
                        ":zero": 0,
                        ":one": 1,
                        ":lease": lease_until,
                        ":shard": _shard(message_id),
                        ":accepted": str(Status.ACCEPTED),
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        )
        if isinstance(answer, ConditionFailed):
            return None
        return self._message(from_item(answer["Attributes"]))

    def end_waiting(self, message_id: str, update: StatusUpdate) -> Message | None:
        # The write `advance` would make from an accepted message, as an update expression: the
        # history gains the entry (its limit kept by the condition).
        reason = "reason = :reason, " if update.reason is not None else ""
        removed = "" if update.reason is not None else ", reason"
        answer = conditional(
            lambda: self._client.update_item(
                TableName=self._table,
                Key=message_key(message_id),
                UpdateExpression=(
                    f"SET #status = :status, {reason}updatedAt = :at,"
                    " history = list_append(history, :entry), version = version + :one"
                    f" REMOVE finalBy, openShard{removed}"
                ),
                ConditionExpression=(
                    "#status = :accepted AND attribute_not_exists(sendStartedAt)"
                    " AND size(history) < :limit"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":status": str(update.status),
                        ":reason": update.reason,
                        ":at": update.at,
                        ":entry": [update.as_history()],
                        ":one": 1,
                        ":accepted": str(Status.ACCEPTED),
                        ":limit": HISTORY_LIMIT,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        )
        if isinstance(answer, ConditionFailed):
            return None
        return self._message(from_item(answer["Attributes"]))

    def get(self, message_id: str) -> Message | None:
        response = self._client.get_item(
            TableName=self._table, Key=message_key(message_id), ConsistentRead=True
        )
        item = response.get("Item")
        return self._message(from_item(item)) if item else None

    def save(self, before: Message, after: Message) -> bool:
        """Write `after` if the stored message is still `before`; False when it moved on."""
        put = self._conditional_put(before, after)
        return written(lambda: self._client.put_item(**put))

    def save_with_ref(self, before: Message, after: Message) -> bool:
        """`save` plus the provider-reference item, in one transaction."""
        if not (after.provider and after.provider_ref):
            raise ValueError("save_with_ref needs the provider and its reference")
        put = self._conditional_put(before, after)
        pointer = to_item(
            {
                "pk": ref_pk(after.provider, after.provider_ref),
                "sk": MESSAGE_SK,
                "messageId": after.id,
                "expiresAt": _expiry(after),
            }
        )
        return written(
            lambda: self._client.transact_write_items(
                TransactItems=[
                    {"Put": cast("PutTypeDef", put)},
                    {"Put": {"TableName": self._table, "Item": pointer}},
                ]
            )
        )

    def message_id_for_ref(self, provider: str, ref: str) -> str | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": ref_pk(provider, ref), "sk": MESSAGE_SK}),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return str(from_item(item)["messageId"]) if item else None

    def overdue(self, now: str) -> Iterator[str]:
        """Ids of messages whose final receipt was due before `now` (the sparse index)."""
        paginator = self._client.get_paginator("query")
        for shard in range(DEADLINE_SHARDS):
            pages = paginator.paginate(
                TableName=self._table,
                IndexName=DEADLINE_INDEX,
                KeyConditionExpression="openShard = :shard AND finalBy < :now",
                ExpressionAttributeValues=to_item({":shard": f"OPEN#{shard}", ":now": now}),
            )
            for page in pages:
                for item in page.get("Items", []):
                    yield str(from_item(item)["pk"]).removeprefix("MSG#")

    # ---------------------------------------------------------------- campaigns
    def message_ids(self, campaign: str) -> Iterator[str]:
        """The campaign's messages (the sparse index of messages with a campaign)."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            IndexName=CAMPAIGN_INDEX,
            KeyConditionExpression="campaign = :campaign",
            ExpressionAttributeValues=to_item({":campaign": campaign}),
        )
        for page in pages:
            for item in page.get("Items", []):
                yield str(from_item(item)["pk"]).removeprefix("MSG#")

    def mark_cancelled(self, campaign: str, at: str) -> None:
        item = {
            "pk": f"CAMPAIGN#{campaign}",
            "sk": CANCELLED_SK,
            "cancelledAt": at,
            "expiresAt": epoch_seconds(at) + RETENTION_SECONDS,
        }
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def cancelled(self, campaign: str) -> bool:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"CAMPAIGN#{campaign}", "sk": CANCELLED_SK}),
            ConsistentRead=True,
        )
        return "Item" in response

    def due_polls(self, now: str, limit: int) -> list[tuple[str, str, int]]:
        """(id, provider reference, polls so far) of the messages due a poll, oldest first."""
        due: list[tuple[str, str, str, int]] = []
        for shard in range(DEADLINE_SHARDS):
            response = self._client.query(
                TableName=self._table,
                IndexName=POLL_INDEX,
                KeyConditionExpression="pollShard = :shard AND nextPollAt <= :now",
                ExpressionAttributeValues=to_item({":shard": f"OPEN#{shard}", ":now": now}),
                Limit=limit,
            )
            for raw in response.get("Items", []):
                item = from_item(raw)
                message_id = str(item["pk"]).removeprefix("MSG#")
                due.append((item["nextPollAt"], message_id, item["providerRef"], item["polls"]))
        return [(i, ref, polls) for _, i, ref, polls in sorted(due)[:limit]]

    # ---------------------------------------------------------------- search
    def entries(
        self, partition: Partition, since: str, until: str, after: IndexEntry | None, limit: int
    ) -> tuple[list[IndexEntry], bool]:
        """`gateway.core.store.MessageIndex`: one Query of the partition's index."""
        index, attribute = SEARCH_INDEXES[partition.by]
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#key = :key AND createdAt BETWEEN :since AND :until",
            "ExpressionAttributeNames": {"#key": attribute},  # `to` is a reserved word
            "ExpressionAttributeValues": to_item(
                {":key": partition.key, ":since": since, ":until": until}
            ),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:  # an index entry's key: the item's, and the index's own
            request["ExclusiveStartKey"] = {
                **message_key(after.message_id),
                **to_item({attribute: partition.key, "createdAt": after.created_at}),
            }
        response = self._client.query(**request)
        entries = [
            IndexEntry(str(item["pk"]).removeprefix("MSG#"), str(item["createdAt"]))
            for item in map(from_item, response.get("Items", []))
        ]
        return entries, "LastEvaluatedKey" in response

    def messages(self, message_ids: Sequence[str]) -> dict[str, Message]:
        """`gateway.core.store.MessageIndex`: BatchGetItem, strongly consistent like `get`."""
        found: dict[str, Message] = {}
        keys = [message_key(i) for i in dict.fromkeys(message_ids)]
        for attempt in range(BATCH_GET_ATTEMPTS):
            if attempt:
                time.sleep(BATCH_GET_BACKOFF_SECONDS * 2 ** (attempt - 1))
            response = self._client.batch_get_item(
                RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
            )
            for raw in response.get("Responses", {}).get(self._table, []):
                message = self._message(from_item(raw))
                found[message.id] = message
            unread = response.get("UnprocessedKeys", {}).get(self._table)
            if not unread:
                return found
            keys = [dict(key) for key in unread["Keys"]]
        raise RuntimeError(f"BatchGetItem left keys unread {BATCH_GET_ATTEMPTS} times")

    # ---------------------------------------------------------------- early receipts
    def keep_early(self, provider: str, ref: str, update: StatusUpdate, now: str) -> None:
        # Keyed by what the receipt says, not when it came: a duplicate finds its twin kept.
        digest = hashlib.sha256(update.dedupe_key.encode()).hexdigest()[:16]
        item = to_item(
            {
                "pk": ref_pk(provider, ref),
                "sk": f"{EARLY_PREFIX}{digest}",
                **update.as_history(),
                "provider": provider,
                "ref": ref,
                "earlyShard": KEPT_SHARD,
                "keptAt": now,
                "expiresAt": epoch_seconds(update.at) + EARLY_RETENTION_SECONDS,
            }
        )
        written(  # the first copy stays, with its time
            lambda: self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(sk)"
            )
        )

    def early_updates(self, provider: str, ref: str) -> list[tuple[str, StatusUpdate]]:
        """Receipts kept for this reference, oldest first, with the key to drop each."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :early)",
            ExpressionAttributeValues=to_item(
                {":pk": ref_pk(provider, ref), ":early": EARLY_PREFIX}
            ),
            ConsistentRead=True,
        )
        updates = []
        for page in pages:
            for raw in page.get("Items", []):
                item = from_item(raw)
                update = StatusUpdate(
                    status=Status(item["status"]),
                    at=item["at"],
                    source=item["source"],
                    provider_status=item.get("providerStatus"),
                    reason=item.get("reason"),
                )
                updates.append((str(item["sk"]), update))
        return sorted(updates, key=lambda kept: (kept[1].at, kept[0]))

    def kept_before(self, before: str) -> Iterator[tuple[str, str]]:
        """(provider, reference) of the receipts kept since before `before` (the sparse
        index), each once."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=KEPT_INDEX,
            KeyConditionExpression="earlyShard = :shard AND keptAt < :before",
            ExpressionAttributeValues=to_item({":shard": KEPT_SHARD, ":before": before}),
        )
        seen: set[tuple[str, str]] = set()
        for page in pages:
            for raw in page.get("Items", []):
                item = from_item(raw)
                found = (str(item["provider"]), str(item["ref"]))
                if found not in seen:
                    seen.add(found)
                    yield found

    def drop_early(self, provider: str, ref: str, sk: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key=to_item({"pk": ref_pk(provider, ref), "sk": sk})
        )

    # ---------------------------------------------------------------- mapping
    def _conditional_put(self, before: Message, after: Message) -> dict[str, Any]:
        stored = replace(after, version=before.version + 1)
        return {
            "TableName": self._table,
            "Item": to_item({"pk": f"MSG#{after.id}", "sk": MESSAGE_SK, **self._fields(stored)}),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": to_item({":v": before.version}),
        }

    @staticmethod
    def _fields(message: Message) -> dict[str, Any]:
        progress = message.progress
        # A final receipt is awaited until the message is final or the sweep gives up on it
        # (clearing its deadline); only while one is, is it in the deadline and poll indexes.
        awaited = bool(message.final_by) and message.status not in FINAL
        return {
            "id": message.id,
            "channel": message.channel,
            # Index keys (ByRecipient, ByDay): never empty, which an index key cannot be. A
            # request refused before its number was read has none.
            "to": message.to or None,
            "createdAt": message.created_at,
            "createdDay": utc_day(message.created_at),
            "status": str(progress.status),
            "providerStatus": progress.provider_status,
            "reason": progress.reason,
            "updatedAt": progress.updated_at,
            "history": list(progress.history),
            "provider": message.provider,
            "providerRef": message.provider_ref,
            "account": message.account,
            "country": message.country,
            "senderName": message.sender_name,
            "onNet": message.on_net,
            "segments": message.segments,
            "encoding": message.encoding,
            "attempts": message.attempts,
            "sendStartedAt": message.send_started_at,
            "finalBy": message.final_by,
            # Sparse indexes: a message leaves both in the write that ends the wait.
            "openShard": _shard(message.id) if awaited else None,
            "nextPollAt": message.next_poll_at,
            "polls": message.polls,
            "pollShard": _shard(message.id) if awaited and message.next_poll_at else None,
            # JSON text: metadata may hold floats, which DynamoDB's types cannot.
            "metadata": json.dumps(message.metadata) if message.metadata else None,
            "request": message.request,
            "priority": message.priority,
            "campaign": message.campaign,
            "sendAt": message.send_at,
            "validUntil": message.expires_at,  # `expiresAt` is the item's TTL
            "resendOf": message.resend_of,
            "version": message.version,
            "expiresAt": _expiry(message),
        }

    @staticmethod
    def _message(item: dict[str, Any]) -> Message:
        return Message(
            id=item["id"],
            channel=item["channel"],
            to=item.get("to", ""),
            created_at=item["createdAt"],
            progress=Progress(
                status=Status(item["status"]),
                provider_status=item.get("providerStatus"),
                reason=item.get("reason"),
                updated_at=item.get("updatedAt"),
                history=tuple(item.get("history", [])),
            ),
            provider=item.get("provider"),
            provider_ref=item.get("providerRef"),
            account=item.get("account"),
            country=item.get("country"),
            sender_name=item.get("senderName"),
            on_net=bool(item.get("onNet", False)),
            segments=item.get("segments"),
            encoding=item.get("encoding"),
            attempts=item.get("attempts", 0),
            send_started_at=item.get("sendStartedAt"),
            final_by=item.get("finalBy"),
            next_poll_at=item.get("nextPollAt"),
            polls=item.get("polls", 0),
            metadata=json.loads(item["metadata"]) if "metadata" in item else {},
            request=item.get("request"),
            priority=item.get("priority"),
            campaign=item.get("campaign"),
            send_at=item.get("sendAt"),
            expires_at=item.get("validUntil"),
            resend_of=item.get("resendOf"),
            version=item.get("version", 0),
        )


def message_from_image(image: dict[str, Any]) -> Message:
    """The message a DynamoDB stream image (`NewImage`, `OldImage`) holds."""
    return MessageRepository._message(from_item(image))


def is_message_key(keys: dict[str, Any]) -> bool:
    """Whether stream record keys are a message's (not a pointer, slot, lock or snapshot)."""
    return keys.get("sk") == {"S": MESSAGE_SK} and keys.get("pk", {}).get("S", "").startswith(
        "MSG#"
    )
