"""Mobile-originated MMS: every content part to S3, the inbound record to DynamoDB, an
`InboundMessageReceived` event to the bus, all durable before the MMSC gets its 1000.

The id is derived from what the MM says (sender, recipients, time, LinkedID, transaction,
subject and each part's bytes), not from the HTTP body, whose MIME boundaries change when an
MMSC retries: a retried request finds the same id, the same S3 keys and the record already
there. Order: parts, then the record (unpublished), then the event, then the record marked
published. A failure anywhere answers a server error and the MMSC's retry completes the
rest; a record is never half-written (one conditional put), and an event is published again
only when the record says it was not.
"""

import hashlib
import re
from typing import Any

from gateway.attachments import store
from gateway.events import publish
from gateway.masking import mask_msisdn
from gateway.mm7 import Address, ContentPart, DeliverRequest
from gateway.observability import logger, metrics
from gateway.repository import InboundRepository

EVENT_TYPE = "InboundMessageReceived"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def inbound_id(request: DeliverRequest) -> str:
    digest = hashlib.sha256()
    recipients = request.recipients
    for value in (
        request.sender.value,
        *(a.value for a in (*recipients.to, *recipients.cc, *recipients.bcc)),
        request.timestamp,
        request.linked_id,
        request.header.transaction_id,
        request.subject,
    ):
        digest.update((value or "").encode() + b"\x00")
    for part in request.parts:
        digest.update(hashlib.sha256(part.data).digest())
    return f"mo-{digest.hexdigest()[:32]}"


def part_key(message_id: str, index: int, part: ContentPart) -> str:
    name = part.content_location or part.content_id or "part"
    return f"inbound/{message_id}/{index:02d}-{_UNSAFE.sub('_', name)[:80]}"


class InboundMessages:
    def __init__(self, repository: InboundRepository, *, bucket: str, bus: str) -> None:
        self._repo = repository
        self._bucket = bucket
        self._bus = bus

    def receive(self, request: DeliverRequest, *, received_at: str, now: int) -> str:
        """Store and announce one MO MMS (idempotent); its id."""
        message_id = inbound_id(request)
        logger.set_correlation_id(message_id)
        parts = []
        for index, part in enumerate(request.parts):
            key = part_key(message_id, index, part)
            store(self._bucket, key, part.data, part.content_type)
            parts.append(self._part_record(part, key))
        record = self._record(message_id, request, parts, received_at)
        created = self._repo.create(message_id, record, now=now)
        stored = record if created else self._repo.get(message_id)
        if stored is not None and not stored.get("published"):
            publish(self._bus, EVENT_TYPE, self._event(record))
            self._repo.mark_published(message_id)
        if created:
            metrics.add_metric(name="InboundReceived", unit="Count", value=1)
        logger.info(
            "inbound mms received",
            sender=_masked(request.sender),
            parts=len(parts),
            retried=not created,
        )
        return message_id

    def _part_record(self, part: ContentPart, key: str) -> dict[str, Any]:
        return {
            "contentType": part.content_type,
            "s3Key": key,
            "size": len(part.data),
            "contentId": part.content_id,
            "contentLocation": part.content_location,
            "charset": part.charset,
        }

    def _record(
        self,
        message_id: str,
        request: DeliverRequest,
        parts: list[dict[str, Any]],
        received_at: str,
    ) -> dict[str, Any]:
        recipients = request.recipients
        return {
            "id": message_id,
            "channel": "mms",
            "sender": request.sender.value,
            "senderKind": str(request.sender.kind),
            "recipients": {
                "to": [a.value for a in recipients.to],
                "cc": [a.value for a in recipients.cc],
                "bcc": [a.value for a in recipients.bcc],
            },
            "subject": request.subject,
            "priority": request.priority,
            "linkedId": request.linked_id,
            "timestamp": request.timestamp,
            "transactionId": request.header.transaction_id,
            "mm7Version": request.header.mm7_version,
            "receivedAt": received_at,
            "parts": [{k: v for k, v in p.items() if v is not None} for p in parts],
        }

    def _event(self, record: dict[str, Any]) -> dict[str, Any]:
        parts = [
            {
                "contentType": p["contentType"],
                "s3Uri": f"s3://{self._bucket}/{p['s3Key']}",
                "size": p["size"],
            }
            for p in record["parts"]
        ]
        fields = ("id", "sender", "recipients", "subject", "priority", "linkedId", "timestamp")
        return {
            **{k: record[k] for k in fields},
            "receivedAt": record["receivedAt"],
            "parts": parts,
        }


def _masked(address: Address) -> str:
    return mask_msisdn(address.value) if address.value.lstrip("+").isdigit() else "***"
