"""Where the gateway is: a deployed stack's outputs, or the local stack's endpoints.json."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

DEFAULT_LOCAL_DIR = Path(".local")
SENDER_FUNCTION = "SenderFunction"  # its logical id in template.yaml
LOCAL_KEY = "local"  # moto accepts any credentials


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
        table = (self.extra or {}).get("table_name") or (self.extra or {}).get("TableName")
        if not table:
            raise EndpointsNotFound("the gateway's table name is not among its endpoints")
        return str(table)

    def dynamodb(self) -> "DynamoDBClient":
        """A DynamoDB client for this gateway's account (moto's endpoint for the local stack)."""
        if self.aws_endpoint_url:
            return boto3.client(
                "dynamodb",
                region_name=self.region,
                endpoint_url=self.aws_endpoint_url,
                aws_access_key_id=LOCAL_KEY,
                aws_secret_access_key=LOCAL_KEY,
            )
        return boto3.client("dynamodb", region_name=self.region)

    def sqs(self) -> "SQSClient":
        """An SQS client for this gateway's account (moto's endpoint for the local stack)."""
        if self.aws_endpoint_url:
            return boto3.client(
                "sqs",
                region_name=self.region,
                endpoint_url=self.aws_endpoint_url,
                aws_access_key_id=LOCAL_KEY,
                aws_secret_access_key=LOCAL_KEY,
            )
        return boto3.client("sqs", region_name=self.region)

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
        resource = boto3.client("cloudformation", region_name=self.region).describe_stack_resource(
            StackName=self.stack_name, LogicalResourceId=logical_id
        )
        function = resource["StackResourceDetail"]["PhysicalResourceId"]
        configuration = boto3.client("lambda", region_name=self.region).get_function_configuration(
            FunctionName=function
        )
        return dict(configuration.get("Environment", {}).get("Variables", {}))


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
    cloudformation = boto3.client("cloudformation", region_name=region)
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except cloudformation.exceptions.ClientError as exc:
        raise EndpointsNotFound(f"stack {stack_name!r}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = {"ApiUrl", "SendQueueUrl"} - set(outputs)
    if missing:
        raise EndpointsNotFound(f"stack {stack_name!r} lacks outputs {sorted(missing)}")
    return Endpoints(
        api_url=outputs["ApiUrl"],
        send_queue_url=outputs["SendQueueUrl"],
        region=cloudformation.meta.region_name,
        extra=outputs,
        stack_name=stack_name,
    )
