"""Status events: the messages table's stream to `MessageStatusChanged` events on the bus,
ten to a PutEvents call, with partial batch failures (a failed record and the ones after it
come back)."""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.aws.events import publish_many
from gateway.aws.status_events import DETAIL_TYPE, status_change
from gateway.config import status_events_config
from gateway.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    failed: list[str] = []
    changes: list[tuple[str, dict[str, Any]]] = []  # (sequence number, event detail)
    for record in event.get("Records", []):
        sequence = record["dynamodb"]["SequenceNumber"]
        try:
            change = status_change(record)
        except Exception:  # a record we cannot read is reported, never skipped silently
            logger.exception("unreadable stream record", sequence=sequence)
            failed.append(sequence)
            continue
        if change is not None:
            changes.append((sequence, change))
    errors = publish_many(status_events_config().event_bus, DETAIL_TYPE, [c for _, c in changes])
    for (sequence, change), error in zip(changes, errors, strict=True):
        if error is None:
            logger.debug("status event", message_id=change["id"], status=change["status"])
        else:
            logger.warning("status event not published", message_id=change["id"], error=error)
            failed.append(sequence)
    published = len(changes) - sum(1 for error in errors if error is not None)
    if published:
        metrics.add_metric(name="StatusEvents", unit="Count", value=published)
    logger.info("status events", records=len(event.get("Records", [])), published=published)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
