"""Where the gateway is: a deployed stack's outputs, or the local stack's endpoints.json."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_LOCAL_DIR = Path(".local")
SENDER_FUNCTION = "SenderFunction"  # its logical id in template.yaml
LOCAL_KEY = "local"  # moto accepts any credentials
# A deployed stack's outputs (template.yaml) under the names the local stack's endpoints.json
# gives the same things, so every command reads one set of names; other outputs keep theirs.
STACK_OUTPUTS = {
    "ApiUrl": "api_url",
    "SendQueueUrl": "send_queue_url",
    "SendDeadLetterQueueUrl": "dlq_url",
    "ReceiptQueueUrl": "receipt_queue_url",
    "ReceiptDeadLetterQueueUrl": "receipt_dlq_url",
    "TableName": "table_name",
    "BucketName": "bucket",
    "EventBusName": "event_bus",
    "Mm7CallbackUrl": "mm7_url",
    "OrangeReceiptSubscriptions": "orange_receipt_subscriptions",
}


class EndpointsNotFound(Exception):
    """Neither a stack nor a running local stack could be found."""


@dataclass(frozen=True)
class Endpoints:
    api_url: str
    send_queue_url: str
    region: str
    aws_endpoint_url: str | None = None  # set for the local stack
    extra: dict[str, Any] | None = None
    stack_name: str | None = None  # set for a deployed stack

    @property
    def local(self) -> bool:
        return self.aws_endpoint_url is not None

    @property
    def table_name(self) -> str:
        table = (self.extra or {}).get("table_name")
        if not table:
            raise EndpointsNotFound("the gateway's table name is not among its endpoints")
        return str(table)

    @property
    def receipt_subscriptions(self) -> str | None:
        """The subscriptions the stack's custom resource registered (`encode_refs` text)."""
        refs = (self.extra or {}).get("orange_receipt_subscriptions")
        return str(refs) if refs else None

    def _session(self) -> boto3.Session:
        """The gateway's account: moto's endpoint for the local stack, with any credentials."""
        if self.aws_endpoint_url:
            return boto3.Session(
                aws_access_key_id=LOCAL_KEY,
                aws_secret_access_key=LOCAL_KEY,
                region_name=self.region,
            )
        return boto3.Session(region_name=self.region)

    def dynamodb(self, connections: int = 10) -> "DynamoDBClient":
        """`connections`: as many as the threads that share the client (botocore keeps 10;
        a thread finding none free opens and drops one per request)."""
        return self._session().client(
            "dynamodb",
            endpoint_url=self.aws_endpoint_url,
            config=Config(max_pool_connections=connections),
        )

    def sqs(self) -> "SQSClient":
        return self._session().client("sqs", endpoint_url=self.aws_endpoint_url)

    def secretsmanager(self) -> "SecretsManagerClient":
        return self._session().client("secretsmanager", endpoint_url=self.aws_endpoint_url)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The environment a function of the gateway runs with: the deployed function's own
        configuration, or what the local stack resolved from template.yaml for it."""
        if self.local:
            environments = (self.extra or {}).get("function_environments") or {}
            if logical_id not in environments:
                raise EndpointsNotFound(
                    f"the local stack's endpoints.json has no environment for {logical_id}"
                    " (restart the local stack)"
                )
            return dict(environments[logical_id])
        if not self.stack_name:
            raise EndpointsNotFound(f"no stack to read {logical_id}'s environment from")
        session = self._session()
        try:
            resource = session.client("cloudformation").describe_stack_resource(
                StackName=self.stack_name, LogicalResourceId=logical_id
            )["StackResourceDetail"]
            configuration = session.client("lambda").get_function_configuration(
                FunctionName=resource["PhysicalResourceId"]
            )
        except ClientError as exc:
            raise EndpointsNotFound(f"{self.stack_name} {logical_id}: {exc}") from exc
        variables = configuration.get("Environment", {}).get("Variables", {})
        return {str(name): str(value) for name, value in variables.items()}


def from_local(state_dir: Path = DEFAULT_LOCAL_DIR) -> Endpoints:
    path = state_dir / "endpoints.json"
    if not path.exists():
        raise EndpointsNotFound(f"{path} not found: start the local stack with `make local`")
    raw = json.loads(path.read_text())
    return from_local_dict(raw)


def from_local_dict(raw: dict[str, Any]) -> Endpoints:
    return Endpoints(
        api_url=raw["api_url"],
        send_queue_url=raw["send_queue_url"],
        region=raw["region"],
        aws_endpoint_url=raw["aws_endpoint_url"],
        extra=raw,
    )


def from_stack(stack_name: str, region: str | None = None) -> Endpoints:
    """A deployed stack's endpoints, from its outputs (CloudFormation DescribeStacks)."""
    try:
        # No region given nor configured, no credentials: said like a missing stack.
        cloudformation = boto3.client("cloudformation", region_name=region)
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except (ClientError, BotoCoreError) as exc:
        raise EndpointsNotFound(f"stack {stack_name!r}: {exc}") from exc
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    missing = {"ApiUrl", "SendQueueUrl"} - set(outputs)
    if missing:
        # A stack still being created, or rolled back, has none yet.
        raise EndpointsNotFound(
            f"stack {stack_name!r} ({stack['StackStatus']}) lacks outputs {sorted(missing)}"
        )
    extra = {STACK_OUTPUTS.get(key, key): value for key, value in outputs.items()}
    return Endpoints(
        api_url=extra["api_url"],
        send_queue_url=extra["send_queue_url"],
        region=cloudformation.meta.region_name,
        extra=extra,
        stack_name=stack_name,
    )
