"""The send queue's writes: a request queued anew keeps the id it was recorded under."""

import json

import boto3
import pytest

from gateway.aws.send_queue import requeue


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("body", [{"channel": "sms"}, {"id": None, "channel": "sms"}])
def test_a_request_without_an_id_is_queued_anew_under_the_id_it_was_recorded_under(
    body: dict[str, object],
) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="send")["QueueUrl"]
    requeue(queue_url, json.dumps(body), "sqs-first-delivery", 0)
    [queued] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(queued["Body"]) == {"id": "sqs-first-delivery", "channel": "sms"}


@pytest.mark.usefixtures("aws")
def test_a_request_with_an_id_keeps_it() -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="send")["QueueUrl"]
    requeue(queue_url, json.dumps({"id": "order-1"}), "sqs-other", 0)
    [queued] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(queued["Body"]) == {"id": "order-1"}
