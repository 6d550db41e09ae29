"""SQS event sources: queues fed to their functions in batches, as Lambda's pollers do.

Each source runs MaximumConcurrency polling loops. A loop receives up to BatchSize messages
(waiting up to MaximumBatchingWindowInSeconds to fill the batch), invokes the function
with Lambda's SQS event, then deletes what succeeded: every record not listed in
`batchItemFailures` with ReportBatchItemFailures, the whole batch otherwise, nothing when
the invocation failed. What is not deleted reappears after the visibility timeout, and
moto moves it to the dead-letter queue once it was received maxReceiveCount times.

As Lambda's pollers do, a loop keeps the next batch ready: it receives it while the function
runs and deletes the finished batch in the background, so a busy queue's function is not left
idle between invocations (at 3 s per batch the round trips idled it a tenth of the time).
A stopped loop leaves a batch it received ahead to come back after the visibility timeout.
"""

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.aws import AwsClients
from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import SqsEvent

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        MessageAttributeValueOutputTypeDef,
        MessageTypeDef,
        ReceiveMessageRequestTypeDef,
    )

logger = logging.getLogger(__name__)

type Invoke = Callable[[str, Any], Invocation]

RECEIVE_WAIT_SECONDS = 1  # long polls short enough for a prompt stop
GATHER_PAUSE_SECONDS = 0.1  # between polls while a batching window fills
RETRY_PAUSE_SECONDS = 1.0  # after a failed call to moto
SQS_MAX_MESSAGES = 10  # per ReceiveMessage / DeleteMessageBatch call


@dataclass(frozen=True)
class SqsSource:
    function_id: str
    event: SqsEvent
    queue_url: str


def _message_attribute(value: "MessageAttributeValueOutputTypeDef") -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
        ],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def lambda_record(message: "MessageTypeDef", queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event for a received message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(result: object, message_ids: set[str]) -> set[str]:
    """The ids a ReportBatchItemFailures response lists, as Lambda reads it: no response or
    no list is a success, anything malformed (an identifier missing or not from the batch)
    fails the whole batch."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return set(message_ids)
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


class SqsPoller:
    """The polling loops of one SQS event source."""

    def __init__(
        self,
        source: SqsSource,
        invoke: Invoke,
        clients: AwsClients,
        visibility_timeout: int | None,
    ) -> None:
        self._source = source
        self._invoke = invoke
        self._clients = clients
        self._visibility_timeout = visibility_timeout
        self._stopping = threading.Event()
        self._enabled = threading.Event()
        self._enabled.set()
        self._threads: list[threading.Thread] = []

    @property
    def function_id(self) -> str:
        return self._source.function_id

    def set_enabled(self, enabled: bool) -> None:
        """As an event source mapping's Enabled: a disabled source invokes nothing (a batch
        being received waits), so a backlog can build up before the function drains it."""
        if enabled:
            self._enabled.set()
        else:
            self._enabled.clear()

    def start(self) -> None:
        for index in range(self._source.event.maximum_concurrency):
            name = f"sqs-{self._source.function_id}-{self._source.event.name}-{index}"
            thread = threading.Thread(target=self._run, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def signal_stop(self) -> None:
        """Stop receiving; a batch being processed finishes (or fails) first."""
        self._stopping.set()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _run(self) -> None:
        client = self._clients.sqs()
        ahead: Future[list[MessageTypeDef]] | None = None
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqs-ahead") as background:
            while not self._stopping.is_set():
                if not self._enabled.wait(RECEIVE_WAIT_SECONDS):
                    continue
                try:
                    messages = ahead.result() if ahead else self._receive_batch(client)
                    ahead = None
                    if messages and self._wait_until_enabled():
                        ahead = background.submit(self._receive_batch, client)
                        done = self._invoke_with(messages)
                        background.submit(self._delete, client, done)
                except (BotoCoreError, ClientError):
                    logger.exception(
                        "sqs poll failed: queue=%s", self._source.event.queue_logical_id
                    )
                    self._stopping.wait(RETRY_PAUSE_SECONDS)

    def _wait_until_enabled(self) -> bool:
        """A batch received as the source was disabled waits for it to be enabled again;
        False if the poller stops first (the batch comes back after the visibility timeout)."""
        while not self._enabled.wait(RECEIVE_WAIT_SECONDS):
            if self._stopping.is_set():
                return False
        return True

    def _receive(
        self, client: "SQSClient", wait_seconds: int, count: int
    ) -> list["MessageTypeDef"]:
        request: ReceiveMessageRequestTypeDef = {
            "QueueUrl": self._source.queue_url,
            "MaxNumberOfMessages": min(SQS_MAX_MESSAGES, count),
            "WaitTimeSeconds": wait_seconds,
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self._visibility_timeout is not None:
            request["VisibilityTimeout"] = self._visibility_timeout
        return client.receive_message(**request).get("Messages", [])

    def _receive_batch(self, client: "SQSClient") -> list["MessageTypeDef"]:
        event = self._source.event
        messages = self._receive(client, RECEIVE_WAIT_SECONDS, event.batch_size)
        if not messages:
            return []
        deadline = time.monotonic() + event.batching_window_seconds
        while len(messages) < event.batch_size and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(client, 0, event.batch_size - len(messages))
            messages += more
            if not more:
                self._stopping.wait(min(GATHER_PAUSE_SECONDS, remaining))
        return messages

    def _invoke_with(self, messages: Sequence["MessageTypeDef"]) -> list["MessageTypeDef"]:
        """Invoke the function with the batch; the messages to delete."""
        source = self._source
        records = [lambda_record(m, source.event.queue_arn, self._clients.region) for m in messages]
        invocation = self._invoke(source.function_id, {"Records": records})
        if invocation.error is not None:
            # Nothing is deleted: the whole batch comes back after the visibility timeout.
            failed = {message["MessageId"] for message in messages}
        elif source.event.report_batch_item_failures:
            failed = failed_message_ids(
                invocation.result, {message["MessageId"] for message in messages}
            )
        else:
            failed = set()
        logger.info(
            "sqs batch processed: function=%s queue=%s received=%s failed=%s",
            source.function_id,
            source.event.queue_logical_id,
            len(messages),
            len(failed),
        )
        return [message for message in messages if message["MessageId"] not in failed]

    def _delete(self, client: "SQSClient", done: Sequence["MessageTypeDef"]) -> None:
        """Delete the batch's finished messages; run in the background, so it logs its own
        failures (the messages come back after the visibility timeout)."""
        try:
            self._delete_batches(client, done)
        except (BotoCoreError, ClientError):
            logger.exception("sqs delete failed: queue=%s", self._source.event.queue_logical_id)

    def _delete_batches(self, client: "SQSClient", done: Sequence["MessageTypeDef"]) -> None:
        source = self._source
        for start in range(0, len(done), SQS_MAX_MESSAGES):
            chunk = done[start : start + SQS_MAX_MESSAGES]
            response = client.delete_message_batch(
                QueueUrl=source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                logger.warning(
                    "sqs delete failed: queue=%s code=%s",
                    source.event.queue_logical_id,
                    failure["Code"],
                )
