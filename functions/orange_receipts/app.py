"""Orange receipts, from ReceiptQueue: API Gateway puts every `POST /callbacks/orange/dr/{token}`
there as it came (the body, the URL token, the caller's address) and answers Orange 200, so
nothing of ours can lose a receipt before it is stored. Here each is checked and applied.

A receipt with a wrong token or address, or that is no deliveryInfoNotification, is dropped:
logged and counted, since no retry can mend it. One the gateway could not store (DynamoDB,
Secrets Manager) comes back from the queue (partial batch failure), and after the queue's
tries lands on its dead-letter queue."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gateway.core.callback_auth import CallbackRefused
from gateway.observability import logger, metrics, tracer
from gateway.orange.config import receipt_config
from gateway.orange.receipts import NOT_STORED, MalformedReceipt, check_orange_receipt
from gateway.wiring import orange_receipts, receipt_token


def _attribute(record: SQSRecord, name: str) -> str | None:
    attribute = record.message_attributes[name]
    return None if attribute is None else attribute.string_value


def handle(record: SQSRecord) -> str:
    try:
        check_orange_receipt(
            receipt_config(),
            source_ip=_attribute(record, "sourceIp"),
            token=_attribute(record, "token") or "",
            expected=receipt_token(),
        )
        return str(orange_receipts().handle(record.body or ""))
    except CallbackRefused as error:
        logger.warning("receipt refused", reason=str(error))
        metrics.add_metric(name="CallbacksRefused", unit="Count", value=1)
        return "refused"
    except MalformedReceipt as error:
        logger.warning("malformed receipt", reason=str(error))
        metrics.add_metric(name="ReceiptsMalformed", unit="Count", value=1)
        return "malformed"
    except NOT_STORED as error:
        logger.error("receipt not stored, tried again later", error=type(error).__name__)
        metrics.add_metric(name="ReceiptServerErrors", unit="Count", value=1)
        raise


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event,
        record_handler=handle,
        # Reported, not raised, when every record failed: the queue then retries each alike.
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=context,
    )
