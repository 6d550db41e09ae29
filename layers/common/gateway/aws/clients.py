"""boto3 clients, built on first use and reused while the container is warm.

Built lazily, never at import: the client must see the invocation's environment (and, in
tests, moto's patching, which only covers clients created after it starts).
"""

import threading
from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

# Fail fast and let the caller's retry policy (SQS redelivery, the carrier's retry) decide.
BOTO_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"})
# boto3's default session is not safe to build from two threads at once (the sender's lanes).
_BUILD_LOCK = threading.Lock()
# What the clients raise when AWS fails (an error answer, no answer).
AWS_FAILURES = (ClientError, BotoCoreError)


@cache
def dynamodb() -> "DynamoDBClient":
    with _BUILD_LOCK:
        return boto3.client("dynamodb", config=BOTO_CONFIG)


@cache
def sqs() -> "SQSClient":
    with _BUILD_LOCK:
        return boto3.client("sqs", config=BOTO_CONFIG)


@cache
def s3() -> "S3Client":
    with _BUILD_LOCK:
        return boto3.client("s3", config=BOTO_CONFIG)


@cache
def events() -> "EventBridgeClient":
    with _BUILD_LOCK:
        return boto3.client("events", config=BOTO_CONFIG)


def reset() -> None:
    """Forget the clients (tests, after changing the environment)."""
    for client in (dynamodb, sqs, s3, events):
        client.cache_clear()
