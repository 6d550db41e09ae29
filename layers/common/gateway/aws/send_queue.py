"""The send queue's writes the sender needs to carry out `gateway.core.retry`'s decisions:
postponing a request through its visibility (a counted retry), or queueing it anew (a wait
that must not use up its attempts)."""

import json

from gateway.aws import clients

MAX_DELAY_SECONDS = 900  # SQS's own limit on a message's delay


def postpone(queue_url: str, receipt_handle: str, seconds: int) -> None:
    clients.sqs().change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
    )


def requeue(queue_url: str, body: str, message_id: str, seconds: int) -> None:
    """The request again, under its message id so that the copy dedupes with the original."""
    request = json.loads(body)
    if request.get("id") is None:  # absent, or an explicit null: the same thing
        request["id"] = message_id
    clients.sqs().send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(request),
        DelaySeconds=min(seconds, MAX_DELAY_SECONDS),
    )
