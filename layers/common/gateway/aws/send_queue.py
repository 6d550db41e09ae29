"""The send queue's writes the sender needs: postponing a request through its visibility
(a counted retry), or queueing it anew (a wait that must not use up its attempts)."""

import json
import random

from gateway.aws import clients

BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 900  # well under SQS's 12-hour visibility limit
MAX_DELAY_SECONDS = 900  # SQS's own limit on a message's delay


def backoff_seconds(receive_count: int, rng: random.Random | None = None) -> int:
    """10 s, 20 s, 40 s ... capped at 15 minutes, with jitter so retries do not stampede."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, receive_count - 1))
    jitter = (rng or random.Random()).uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto  # nosec B311
    return min(BACKOFF_CAP_SECONDS, int(base * jitter))


def postpone(queue_url: str, receipt_handle: str, seconds: int) -> None:
    clients.sqs().change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
    )


def requeue(queue_url: str, body: str, message_id: str, seconds: int) -> None:
    """The request again, under its message id so that the copy dedupes with the original."""
    request = json.loads(body)
    request.setdefault("id", message_id)
    clients.sqs().send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(request),
        DelaySeconds=min(seconds, MAX_DELAY_SECONDS),
    )
