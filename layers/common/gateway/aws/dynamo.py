"""What every DynamoDB store of the gateway's table shares: item (de)serialisation, the
table's client built on first use, and conditional writes that report a lost race as a value
instead of an exception."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from gateway.aws import clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Messages, references and snapshots are kept this long after they were written (TTL).
RETENTION_SECONDS = 180 * 24 * 3600
# A failed condition, on one item or in a transaction.
CONDITION_FAILURES = ("ConditionalCheckFailedException", "TransactionCanceledException")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; the domain wants int."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class ConditionFailed:
    """A conditional write that did not happen: someone else wrote first. `item` is the item
    as it was, when the write asked for it (`ReturnValuesOnConditionCheckFailure`)."""

    item: dict[str, Any] = field(default_factory=dict)


def conditional[T](write: Callable[[], T]) -> T | ConditionFailed:
    """Run a conditional write: its answer, or ConditionFailed when its condition failed.
    Any other failure is raised."""
    try:
        return write()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in CONDITION_FAILURES:
            raise
        return ConditionFailed(dict(error.response.get("Item", {})))  # type: ignore[call-overload]


def written(write: Callable[[], object]) -> bool:
    """Whether a conditional write happened."""
    return not isinstance(conditional(write), ConditionFailed)


class TableStore:
    """One kind of item in the gateway's table; the client is built on first use."""

    def __init__(self, table_name: str, client: "DynamoDBClient | None" = None) -> None:
        self._table = table_name
        self._client_instance = client

    @property
    def _client(self) -> "DynamoDBClient":
        return self._client_instance or clients.dynamodb()
