"""DynamoDB stream event sources: a table's stream fed to its function, as Lambda's pollers do.

One loop per source reads the stream's shard (moto keeps one) in order, drops the records
no filter pattern matches (Lambda counts them as processed), and invokes the function with
Lambda's DynamoDB event. With ReportBatchItemFailures, the first failed record and every
one after it come back in the next batch, the ones before it never do; records are gathered
for up to MaximumBatchingWindowInSeconds unless a batch fills first; a failed invocation
retries the whole batch. After MaximumRetryAttempts the batch is skipped with an error
logged, where Lambda would describe it on the on-failure destination.
"""

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.aws import AwsClients
from infra.local.runtime.runtime import Invocation
from infra.local.template.functions import StreamEvent
from infra.local.template.intrinsics import TemplateError

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

logger = logging.getLogger(__name__)

type Invoke = Callable[[str, Any], Invocation]

POLL_PAUSE_SECONDS = 0.25  # between reads of an idle stream (Lambda polls 4 times a second)
RETRY_PAUSE_SECONDS = 1.0  # after a failed invocation or a failed call to moto


@dataclass(frozen=True)
class StreamSource:
    function_id: str
    event: StreamEvent


def matches(pattern: Mapping[str, Any], value: object) -> bool:
    """Lambda's event filter pattern against a record (the subset a template may use here:
    exact values, `prefix`, `exists`); anything else is refused rather than guessed."""
    if not isinstance(value, Mapping):
        return False
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            if not matches(expected, value.get(key)):
                return False
        elif isinstance(expected, list):
            if not any(_matches_one(rule, key in value, value.get(key)) for rule in expected):
                return False
        else:
            raise TemplateError(f"filter pattern: {key!r} must map to a list or an object")
    return True


def _matches_one(rule: object, present: bool, value: object) -> bool:
    if isinstance(rule, Mapping):
        if set(rule) == {"prefix"}:
            return isinstance(value, str) and value.startswith(str(rule["prefix"]))
        if set(rule) == {"exists"}:
            return present is bool(rule["exists"])
        raise TemplateError(f"filter pattern: {dict(rule)!r} is not emulated locally")
    return present and value == rule


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's DynamoDB event from a GetRecords record (boto3 parsed it:
    times to datetime, binary values to bytes; Lambda's JSON has numbers and base64)."""
    return {**_as_json(record), "eventSourceARN": stream_arn, "awsRegion": region}


def _as_json(value: object) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_as_json(item) for item in value]
    return value


def first_failed(result: object, sequence_numbers: Sequence[str]) -> int | None:
    """Where the next batch starts, as Lambda reads a ReportBatchItemFailures response: the
    lowest failed record; None when all succeeded; 0 (all again) when it is malformed."""
    if result is None:
        return None
    if not isinstance(result, Mapping):
        return 0
    failures = result.get("batchItemFailures")
    if not failures:
        return None
    positions = []
    for failure in failures if isinstance(failures, list) else [None]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if identifier not in sequence_numbers:
            return 0
        positions.append(sequence_numbers.index(identifier))
    return min(positions)


class StreamPoller:
    """The polling loop of one DynamoDB stream event source."""

    def __init__(self, source: StreamSource, invoke: Invoke, clients: AwsClients) -> None:
        self._source = source
        self._invoke = invoke
        self._clients = clients
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        name = f"stream-{self._source.function_id}-{self._source.event.name}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        client = self._clients.dynamodbstreams()
        iterator: str | None = None
        pending: list[dict[str, Any]] = []  # as Lambda gets them: read, not yet processed
        waiting_since: float | None = None  # when the batch being gathered got its first record
        attempts = 0
        event = self._source.event
        while not self._stopping.is_set():
            try:
                if iterator is None:
                    iterator = self._first_iterator(client)
                if len(pending) < event.batch_size:
                    answer = client.get_records(ShardIterator=iterator, Limit=event.batch_size)
                    iterator = answer["NextShardIterator"]
                    read = (
                        lambda_record(r, event.stream_arn, self._clients.region)
                        for r in answer.get("Records", [])
                    )
                    pending += [r for r in read if self._passes(r)]
            except (BotoCoreError, ClientError):
                logger.exception("stream read failed: function=%s", self._source.function_id)
                self._stopping.wait(RETRY_PAUSE_SECONDS)
                continue
            if not pending:
                waiting_since = None
                self._stopping.wait(POLL_PAUSE_SECONDS)
                continue
            # As Lambda does: gather records for up to the batching window, unless it is full.
            waiting_since = waiting_since or time.monotonic()
            window_left = waiting_since + event.batching_window_seconds - time.monotonic()
            if len(pending) < event.batch_size and window_left > 0 and attempts == 0:
                self._stopping.wait(min(POLL_PAUSE_SECONDS, window_left))
                continue
            waiting_since = None
            batch = pending[: event.batch_size]
            done = self._process(batch)
            if done == len(batch):
                attempts = 0
            else:
                attempts += 1
                if 0 <= event.maximum_retry_attempts < attempts:
                    logger.error(
                        "stream records skipped after %s retries: function=%s records=%s",
                        attempts - 1,
                        self._source.function_id,
                        len(batch) - done,
                    )
                    done, attempts = len(batch), 0
                else:
                    self._stopping.wait(RETRY_PAUSE_SECONDS)
            pending = pending[done:]

    def _first_iterator(self, client: "DynamoDBStreamsClient") -> str:
        event = self._source.event
        shards = client.describe_stream(StreamArn=event.stream_arn)["StreamDescription"]["Shards"]
        return client.get_shard_iterator(
            StreamArn=event.stream_arn,
            ShardId=shards[0]["ShardId"],
            ShardIteratorType="LATEST" if event.starting_position == "LATEST" else "TRIM_HORIZON",
        )["ShardIterator"]

    def _passes(self, record: Mapping[str, Any]) -> bool:
        patterns = self._source.event.filter_patterns
        return not patterns or any(matches(p, record) for p in patterns)

    def _process(self, batch: list[dict[str, Any]]) -> int:
        """How many records of the batch (Lambda's records), from its start, are done."""
        event = self._source.event
        invocation = self._invoke(self._source.function_id, {"Records": batch})
        if invocation.error is not None:
            return 0
        if not event.report_batch_item_failures:
            return len(batch)
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed = first_failed(invocation.result, sequence_numbers)
        done = len(batch) if failed is None else failed
        logger.info(
            "stream batch processed: function=%s records=%s done=%s",
            self._source.function_id,
            len(batch),
            done,
        )
        return done
