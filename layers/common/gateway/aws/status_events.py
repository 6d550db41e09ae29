"""`MessageStatusChanged` events, read from the messages table's DynamoDB stream.

Why the stream and not an outbox written with each change: every write of a message, by
any function (sender, receipts, MM7 reports, the poller, the sweep), lands in the stream
once, in order per message, with its old and new image; nothing in the writers can forget
to emit, and no write pays for a second item. The publisher turns each write that changed
the status (or the carrier's status) into one event. Lambda retries a failed record and
the records after it, never the ones before (`ReportBatchItemFailures`), so an event is
published again only if the publisher died between EventBridge's answer and its own;
`changeId` (message id and version, one per write) lets a consumer drop that copy.
"""

from typing import Any

from gateway.aws.message_store import is_message_key, message_from_image

DETAIL_TYPE = "MessageStatusChanged"


def status_change(record: dict[str, Any]) -> dict[str, Any] | None:
    """The event detail for one stream record; None when the write changed no status."""
    stream = record.get("dynamodb", {})
    new_image = stream.get("NewImage")
    if record.get("eventName") == "REMOVE" or not new_image:
        return None  # TTL expiry or a delete is no status change
    if not is_message_key(stream.get("Keys", {})):
        return None
    after = message_from_image(new_image)
    old_image = stream.get("OldImage")
    before = message_from_image(old_image) if old_image else None
    new = after.progress
    old = before.progress if before else None
    if old is not None and (old.status, old.provider_status) == (new.status, new.provider_status):
        return None
    return {
        "id": after.id,
        "changeId": f"{after.id}:{after.version}",
        "channel": after.channel,
        "previousStatus": str(old.status) if old else None,
        "status": str(new.status),
        "previousProviderStatus": old.provider_status if old else None,
        "providerStatus": new.provider_status,
        "providerMessageId": after.provider_ref,
        "reason": new.reason,
        "at": new.updated_at,
        "to": after.to,
        "priority": after.priority,
        "campaign": after.campaign,
        "resendOf": after.resend_of,
        "metadata": after.metadata,
    }
