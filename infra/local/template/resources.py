"""Creates the template's data resources in moto, in dependency order.

Tables, queues, secrets, buckets, event buses and rules are created from their template
properties, so the local stack cannot drift from what CloudFormation deploys. Code and
monitoring resources (functions, layers, APIs, log groups, alarms, IAM) are the runtime's
business or have no local meaning; any other type is listed once in the log and skipped.
"""

import json
import logging
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from infra.local.aws import AwsClients
from infra.local.template.intrinsics import (
    Physical,
    Resolver,
    TemplateError,
    as_flag,
    as_text,
    referenced_names,
)
from infra.local.template.template import Resource

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import TargetTypeDef
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_sqs.literals import QueueAttributeNameType

logger = logging.getLogger(__name__)

_NOT_DATA_PREFIXES = (
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi",
    "AWS::Lambda::",
    "AWS::Logs::",
    "AWS::CloudWatch::",
    "AWS::IAM::",
    "AWS::ApiGateway::",
    "AWS::ApiGatewayV2::",
    "AWS::SQS::QueuePolicy",
    # Custom resources run deployment-time code (registering the receipt URL with Orange):
    # created by infra.local.triggers.custom_resources once the functions run.
    "AWS::CloudFormation::CustomResource",
    "Custom::",
)


@dataclass(frozen=True)
class _Context:
    clients: AwsClients
    stack_name: str
    logical_id: str

    def name(self, properties: Mapping[str, Any], key: str, suffix: str = "") -> str:
        """The name the template gives, else one derived from stack and logical id."""
        if key in properties:
            return as_text(properties[key])
        return f"{self.stack_name}-{self.logical_id}{suffix}"


def _table(context: _Context, properties: Mapping[str, Any]) -> Physical:
    client = context.clients.dynamodb()
    name = context.name(properties, "TableName")
    description = client.create_table(**create_table_request(name, properties))["TableDescription"]
    ttl = properties.get("TimeToLiveSpecification")
    if ttl is not None and as_flag(ttl.get("Enabled", False)):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    attributes = {"Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        attributes["StreamArn"] = description["LatestStreamArn"]
    return Physical(name, attributes)


def create_table_request(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable's request for an AWS::DynamoDB::Table's properties."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        # CloudFormation's default, as for the table it deploys.
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in properties:
        request["ProvisionedThroughput"] = _throughput(properties["ProvisionedThroughput"])
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in properties:
            request[key] = [_index(index) for index in properties[key]]
    if "StreamSpecification" in properties:
        view_type = properties["StreamSpecification"]["StreamViewType"]
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    return request


def _throughput(throughput: Mapping[str, Any]) -> dict[str, int]:
    return {
        key: int(as_text(throughput[key])) for key in ("ReadCapacityUnits", "WriteCapacityUnits")
    }


def _index(index: Mapping[str, Any]) -> dict[str, Any]:
    # CloudFormation-only keys (contributor insights, warm throughput) have no API counterpart.
    request = {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
    if "ProvisionedThroughput" in index:
        request["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return request


def _simple_table(context: _Context, properties: Mapping[str, Any]) -> Physical:
    key = properties.get("PrimaryKey", {"Name": "id", "Type": "String"})
    kind = {"String": "S", "Number": "N", "Binary": "B"}[key["Type"]]
    table: dict[str, Any] = {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if "ProvisionedThroughput" in properties:
        table |= {
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": properties["ProvisionedThroughput"],
        }
    if "TableName" in properties:
        table["TableName"] = properties["TableName"]
    return _table(context, table)


_QUEUE_ATTRIBUTES: tuple["QueueAttributeNameType", ...] = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _queue_attribute(value: object) -> str:
    # SQS takes every attribute as text, and policies as JSON documents.
    return json.dumps(value) if isinstance(value, Mapping) else as_text(value)


def _queue(context: _Context, properties: Mapping[str, Any]) -> Physical:
    client = context.clients.sqs()
    fifo = as_flag(properties.get("FifoQueue", False))
    name = context.name(properties, "QueueName", ".fifo" if fifo else "")
    attributes: dict[QueueAttributeNameType, str] = {
        key: _queue_attribute(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties
    }
    if fifo:
        attributes["FifoQueue"] = "true"
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return Physical(url, {"Arn": arn["QueueArn"], "QueueName": name, "QueueUrl": url})


_PASSWORD_FLAGS = (
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def _secret(context: _Context, properties: Mapping[str, Any]) -> Physical:
    client = context.clients.secretsmanager()
    if "SecretString" in properties:
        value = as_text(properties["SecretString"])
    else:
        value = _generated_secret(context, properties.get("GenerateSecretString", {}))
    arn = client.create_secret(
        Name=context.name(properties, "Name"),
        Description=as_text(properties.get("Description", "")),
        SecretString=value,
    )["ARN"]
    return Physical(arn, {"Id": arn})


def _generated_secret(context: _Context, spec: Mapping[str, Any]) -> str:
    # Secrets Manager's own generator (moto implements it) honours the same options
    # CloudFormation passes it.
    options: dict[str, Any] = {key: as_flag(spec[key]) for key in _PASSWORD_FLAGS if key in spec}
    if "PasswordLength" in spec:
        options["PasswordLength"] = int(as_text(spec["PasswordLength"]))
    if "ExcludeCharacters" in spec:
        options["ExcludeCharacters"] = as_text(spec["ExcludeCharacters"])
    client = context.clients.secretsmanager()
    password = client.get_random_password(**options)["RandomPassword"]
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if (template is None) != (key is None):
        raise TemplateError(
            f"{context.logical_id}: SecretStringTemplate and GenerateStringKey go together"
        )
    if template is None:
        return password
    document = json.loads(as_text(template))
    document[as_text(key)] = password
    return json.dumps(document)


def _bucket(context: _Context, properties: Mapping[str, Any]) -> Physical:
    client = context.clients.s3()
    # Bucket names are lower case, at most 63 characters.
    name = context.name(properties, "BucketName").lower()[:63]
    region = context.clients.region
    if region == "us-east-1":  # the one region S3 refuses a location constraint for
        client.create_bucket(Bucket=name)
    else:
        constraint = cast("BucketLocationConstraintType", region)
        client.create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": constraint}
        )
    versioning = properties.get("VersioningConfiguration")
    if versioning is not None:
        client.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": versioning["Status"]}
        )
    return Physical(
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        },
    )


def _event_bus(context: _Context, properties: Mapping[str, Any]) -> Physical:
    name = as_text(properties["Name"])
    arn = context.clients.events().create_event_bus(Name=name)["EventBusArn"]
    return Physical(name, {"Arn": arn, "Name": name})


def _rule(context: _Context, properties: Mapping[str, Any]) -> Physical:
    client = context.clients.events()
    name = context.name(properties, "Name")[:64]
    bus = as_text(properties.get("EventBusName", "default"))
    request: dict[str, Any] = {
        "Name": name,
        "EventBusName": bus,
        "State": as_text(properties.get("State", "ENABLED")),
    }
    if "EventPattern" in properties:
        pattern = properties["EventPattern"]
        request["EventPattern"] = json.dumps(pattern) if isinstance(pattern, Mapping) else pattern
    for key in ("ScheduleExpression", "Description"):
        if key in properties:
            request[key] = as_text(properties[key])
    arn = client.put_rule(**request)["RuleArn"]
    # moto delivers matching events to SQS targets; other targets would need AWS itself.
    targets: list[Mapping[str, Any]] = []
    others: list[Mapping[str, Any]] = []
    for target in properties.get("Targets", []):
        (targets if ":sqs:" in as_text(target["Arn"]) else others).append(target)
    if others:
        logger.warning(
            "rule targets not emulated locally, skipped: rule=%s targets=%s",
            context.logical_id,
            [target.get("Id") for target in others],
        )
    if targets:
        keys = ("Id", "Arn", "Input", "InputPath", "InputTransformer", "SqsParameters")
        client.put_targets(
            Rule=name,
            EventBusName=bus,
            Targets=[
                cast("TargetTypeDef", {key: t[key] for key in keys if key in t}) for t in targets
            ],
        )
    return Physical(name, {"Arn": arn})


_CREATORS: Mapping[str, Callable[[_Context, Mapping[str, Any]], Physical]] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::Serverless::SimpleTable": _simple_table,
    "AWS::SQS::Queue": _queue,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::S3::Bucket": _bucket,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _rule,
}


def create_resources(
    resources: Iterable[Resource],
    resolver: Resolver,
    physical: MutableMapping[str, Physical],
    clients: AwsClients,
    stack_name: str,
) -> None:
    """Create every data resource in moto and record its physical id in `physical`."""
    resources = list(resources)
    skipped = [
        f"{r.logical_id} ({r.type})"
        for r in resources
        if r.type not in _CREATORS and not r.type.startswith(_NOT_DATA_PREFIXES)
    ]
    if skipped:
        logger.warning("resource types not emulated locally, skipped: resources=%s", skipped)
    for resource in _dependency_order([r for r in resources if r.type in _CREATORS]):
        properties = resolver.resolve(resource.properties, resource.logical_id)
        context = _Context(clients, stack_name, resource.logical_id)
        created = _CREATORS[resource.type](context, properties)
        physical[resource.logical_id] = created
        logger.info(
            "resource created: type=%s logical_id=%s physical_id=%s",
            resource.type,
            resource.logical_id,
            created.ref,
        )


def _dependency_order(resources: list[Resource]) -> list[Resource]:
    """Resources after everything they refer to (a dead-letter queue before its source)."""
    by_id = {resource.logical_id: resource for resource in resources}
    ordered: list[Resource] = []
    done: set[str] = set()

    def visit(resource: Resource, chain: tuple[str, ...]) -> None:
        if resource.logical_id in done:
            return
        if resource.logical_id in chain:
            raise TemplateError(
                f"circular references: {' -> '.join([*chain, resource.logical_id])}"
            )
        references = referenced_names(resource.properties) | set(resource.depends_on)
        for name in sorted(references & by_id.keys()):
            visit(by_id[name], (*chain, resource.logical_id))
        done.add(resource.logical_id)
        ordered.append(resource)

    for resource in resources:
        visit(resource, ())
    return ordered
