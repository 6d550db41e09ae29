"""boto3 clients bound to the local stack's moto server, with fake credentials and timeouts."""

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

# moto's default account; CloudFormation's AWS::AccountId resolves to it locally.
ACCOUNT_ID = "123456789012"
# moto accepts any credentials; fixed ones keep the user's real keys out of the local stack.
FAKE_CREDENTIALS = dict.fromkeys(
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"), "testing"
)
# Long enough for SQS long polls (WaitTimeSeconds is at most 1 locally), short enough that
# a wedged moto thread shows up as an error instead of a hang.
CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"}
)


class AwsClients:
    """Creates clients for moto's endpoint; one instance per local stack."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.session = boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=region,
        )

    def dynamodb(self) -> "DynamoDBClient":
        return self.session.client("dynamodb", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)

    def dynamodbstreams(self) -> "DynamoDBStreamsClient":
        return self.session.client(
            "dynamodbstreams", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
        )

    def sqs(self) -> "SQSClient":
        return self.session.client("sqs", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)

    def secretsmanager(self) -> "SecretsManagerClient":
        return self.session.client(
            "secretsmanager", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
        )

    def s3(self) -> "S3Client":
        return self.session.client("s3", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)

    def events(self) -> "EventBridgeClient":
        return self.session.client("events", endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)
