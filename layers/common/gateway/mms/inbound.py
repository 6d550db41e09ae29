"""Mobile-originated MMS: every content part to S3, the inbound record to DynamoDB, an
`InboundMessageReceived` event to the bus, all durable before the MMSC gets its 1000.

The id is derived from what the MM says (sender, recipients, time, LinkedID, transaction,
subject and each part's bytes), not from the HTTP body, whose MIME boundaries change when an
MMSC retries: a retried request finds the same id and the record already there, and stores
nothing again. Order: parts, then the record (unpublished, one conditional put), then the
event, then the record marked published. A failure anywhere answers a server error and the
MMSC's retry completes the rest; an event is published again only when the record says it
was not (so a failure to mark it published means a second event with the same id).

Nothing is half-written: a record names only parts already stored, and an attempt that ends
without its record deletes the parts it stored. Each attempt stores its parts under keys of
its own, so what one attempt deletes can never be what another attempt's record names (the
same MO retried while its first attempt is still running). Deleting is best effort: when S3
or DynamoDB cannot answer, the parts stay, named by no record, for the bucket's lifecycle
rule to expire.
"""

import hashlib
import re
import secrets
from typing import Any

from gateway.aws.attachments import discard, store
from gateway.aws.clients import AWS_FAILURES
from gateway.aws.events import publish
from gateway.aws.inbound_store import InboundRepository
from gateway.core.masking import mask_msisdn
from gateway.mm7 import Address, ContentPart, DeliverRequest, HiddenSender
from gateway.observability import logger, metrics

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


def part_key(message_id: str, attempt: str, index: int, part: ContentPart) -> str:
    name = part.content_location or part.content_id or "part"
    return f"inbound/{message_id}/{attempt}/{index:02d}-{_UNSAFE.sub('_', name)[:80]}"


class InboundMessages:
    def __init__(self, repository: InboundRepository, *, bucket: str, bus: str) -> None:
        self._repo = repository
        self._bucket = bucket
        self._bus = bus

    def receive(self, request: DeliverRequest, *, received_at: str) -> str:
        """Store and announce one MO MMS (idempotent); its id."""
        message_id = inbound_id(request)
        logger.set_correlation_id(message_id)
        record = self._repo.get(message_id)
        created = False
        if record is None:
            record, created = self._store(message_id, request, received_at)
        if not record.get("published"):
            publish(self._bus, EVENT_TYPE, self._event(record))
            self._repo.mark_published(message_id)
        if created:
            metrics.add_metric(name="InboundReceived", unit="Count", value=1)
        logger.info(
            "inbound mms received",
            sender=_masked(request.sender),
            parts=len(request.parts),
            retried=not created,
        )
        return message_id

    def _store(
        self, message_id: str, request: DeliverRequest, received_at: str
    ) -> tuple[dict[str, Any], bool]:
        """The parts, then the record: the stored record, and whether this attempt made it."""
        attempt = secrets.token_hex(4)
        keys: list[str] = []
        parts = []
        try:
            for index, part in enumerate(request.parts):
                key = part_key(message_id, attempt, index, part)
                store(self._bucket, key, part.data, part.content_type)
                keys.append(key)
                parts.append(self._part_record(part, key))
            record = self._record(message_id, request, parts, received_at)
            created = self._repo.create(message_id, record)
        except AWS_FAILURES:
            self._discard_unrecorded(message_id, keys)
            raise
        if created:
            return record, True
        # Another attempt of the same MO recorded it first, with parts of its own.
        self._discard_unrecorded(message_id, keys)
        return self._repo.get(message_id) or record, False

    def _discard_unrecorded(self, message_id: str, keys: list[str]) -> None:
        """Delete this attempt's parts unless the stored record names them (a put that
        reported a failure, or that botocore retried, may have landed all the same)."""
        if not keys:
            return
        try:
            stored = self._repo.get(message_id)
            if stored is None or keys[0] not in {p["s3Key"] for p in stored["parts"]}:
                discard(self._bucket, keys)
        except AWS_FAILURES as exc:
            logger.warning(
                "parts of an unrecorded inbound mms left in s3",
                parts=len(keys),
                error=type(exc).__name__,
            )

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
            **_sender(request.sender),
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
        # A record read back from DynamoDB lacks the fields that were None.
        fields = ("id", "sender", "recipients", "subject", "priority", "linkedId", "timestamp")
        return {
            **{k: record.get(k) for k in fields},
            # Older records lack the field: their sender was always there.
            "senderHidden": record.get("senderHidden", False),
            "receivedAt": record["receivedAt"],
            "parts": parts,
        }


def _sender(sender: Address | HiddenSender) -> dict[str, Any]:
    """A hidden sender is said to be one, with no address (not an empty one)."""
    if isinstance(sender, HiddenSender):
        return {"sender": None, "senderHidden": True}
    return {"sender": sender.value, "senderKind": str(sender.kind), "senderHidden": False}


def _masked(sender: Address | HiddenSender) -> str:
    if isinstance(sender, HiddenSender):
        return "hidden"
    return mask_msisdn(sender.value) if sender.value.lstrip("+").isdigit() else "***"
