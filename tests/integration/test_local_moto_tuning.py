"""The local stack's moto: a cancelled transaction still changes nothing, now that its
rollback restores the touched items instead of a copy of the whole table; a Query on the
table's key answers as before without listing the table; SQS hands out messages without
counting the queue for each; DynamoDB's item answers, written directly, are the ones moto's
own serialiser writes."""

import heapq
import inspect
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.core.serialize import ResponseSerializer
from moto.dynamodb.models import dynamodb_backends
from moto.server import ThreadedMotoServer
from moto.sqs.models import Queue

from infra.local.aws import AwsClients
from infra.local.moto import adapt_moto

pytestmark = pytest.mark.integration

GENERIC = inspect.unwrap(ActionResult.execute_result)  # moto's own serialiser

TABLE = "messages"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    adapt_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = AwsClients(f"http://{host}:{port}", REGION).dynamodb()
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    yield client
    server.stop()


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "STATE"}}


def item(pk: str, status: str) -> dict[str, Any]:
    return {**key(pk), "status": {"S": status}}


def put(pk: str, status: str, condition: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"TableName": TABLE, "Item": item(pk, status)}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def stored(client: Any, pk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(TableName=TABLE, Key=key(pk)).get("Item")
    return found


def all_stream_records(client: Any) -> list[Any]:
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    streams = AwsClients(client.meta.endpoint_url, REGION).dynamodbstreams()
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[Any] = streams.get_records(ShardIterator=iterator)["Records"]
    return records


def stream_records(client: Any) -> int:
    return len(all_stream_records(client))


def test_a_transaction_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=[put("a", "submitted"), put("b", "submitted")])

    assert stored(dynamodb, "a") == item("a", "submitted")
    assert stored(dynamodb, "b") == item("b", "submitted")


def test_a_cancelled_transaction_changes_nothing(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=item("kept", "accepted"))
    records_before = stream_records(dynamodb)

    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                put("kept", "submitted"),  # applied by moto, then rolled back
                put("new", "submitted"),  # created, then removed
                put("kept-too", "x", condition="attribute_exists(pk)"),  # fails
            ]
        )

    assert stored(dynamodb, "kept") == item("kept", "accepted")
    assert stored(dynamodb, "new") is None
    assert stored(dynamodb, "kept-too") is None
    assert stream_records(dynamodb) == records_before


class _Unlistable(defaultdict[Any, Any]):
    """A table's items that refuse to be listed whole, as moto's own Query lists them."""

    def values(self) -> Any:
        raise AssertionError("the whole table was listed")


def test_a_query_reads_only_its_key(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for pk, sk in [("ref", "E#2"), ("ref", "MSG"), ("ref", "E#1"), ("other", "E#0")]:
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": sk}})
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[TABLE]
    monkeypatch.setattr(table, "items", _Unlistable(dict, table.items))

    def query(pk: str, **options: Any) -> list[str]:
        response = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :early)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":early": {"S": "E#"}},
            **options,
        )
        return [found["sk"]["S"] for found in response["Items"]]

    assert query("ref") == ["E#1", "E#2"]
    assert query("ref", ScanIndexForward=False) == ["E#2", "E#1"]
    assert query("nobody") == []
    assert "nobody" not in {key.value for key in table.items}


def test_receiving_does_not_count_the_queue_per_message(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = AwsClients(dynamodb.meta.endpoint_url, REGION).sqs()
    url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(3)]
    )

    def uncountable(queue: Queue) -> dict[str, Any]:
        raise AssertionError("the queue's attributes were computed")

    monkeypatch.setattr(Queue, "attributes", property(uncountable))
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    assert sorted(m["Body"] for m in received) == ["0", "1", "2"]


def _item_answers(client: Any, name: str) -> list[Any]:
    """Answers to every item operation the gateway makes, on the items of `name`."""
    first = {
        "pk": {"S": name},
        "sk": {"S": "A"},
        "text": {"S": "héllo"},
        "count": {"N": "3"},
        "blob": {"B": b"\x00\xff"},
        "tags": {"SS": ["a", "b"]},
        "nested": {"M": {"list": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
    }
    second = {"pk": {"S": name}, "sk": {"S": "B"}}
    answers: list[Any] = [
        client.put_item(TableName=TABLE, Item=first, ReturnConsumedCapacity="TOTAL"),
        client.get_item(TableName=TABLE, Key={"pk": first["pk"], "sk": first["sk"]}),
        client.get_item(TableName=TABLE, Key={"pk": first["pk"], "sk": {"S": "none"}}),
        client.update_item(
            TableName=TABLE,
            Key={"pk": first["pk"], "sk": first["sk"]},
            UpdateExpression="SET #c = #c + :one",
            ExpressionAttributeNames={"#c": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": second}}]),
        client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": first["pk"]},
            Limit=1,
        ),
        client.batch_get_item(
            RequestItems={TABLE: {"Keys": [{"pk": second["pk"], "sk": second["sk"]}]}}
        ),
        client.delete_item(TableName=TABLE, Key=second, ReturnValues="ALL_OLD"),
    ]
    try:
        client.put_item(
            TableName=TABLE,
            Item=first,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as refused:
        answers.append(refused.response)
    for answer in answers:
        answer.pop("ResponseMetadata", None)
    return [*answers, _stream_records(client, name)]


def _stream_records(client: Any, name: str) -> list[Any]:
    """The stream's records of `name`'s items, without what differs with every write (ids,
    times, sequence numbers, sizes)."""
    ours = [r for r in all_stream_records(client) if r["dynamodb"]["Keys"]["pk"]["S"] == name]
    for record in ours:
        assert isinstance(record["dynamodb"].pop("ApproximateCreationDateTime"), datetime)
        for changing in ("SequenceNumber", "SizeBytes"):
            record["dynamodb"].pop(changing)
        record.pop("eventID")
    return ours


def test_item_answers_match_moto_s_own_serialiser(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = _item_answers(dynamodb, "direct")
    monkeypatch.setattr(ActionResult, "execute_result", GENERIC)
    generic = _item_answers(dynamodb, "generic")

    # Compared as values: a capacity of 1.0 equals the generic answer's 1.
    assert _renamed(direct, "direct") == _renamed(generic, "generic")


def _renamed(answers: list[Any], name: str) -> Any:
    return json.loads(json.dumps(answers, default=repr).replace(name, "?"))


def test_item_answers_skip_the_shape_walk(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def walked(*_: Any, **__: Any) -> Any:
        raise AssertionError("the answer was serialised by walking its shape")

    monkeypatch.setattr(ResponseSerializer, "serialize", walked)
    dynamodb.put_item(TableName=TABLE, Item=item("walk", "accepted"))

    assert stored(dynamodb, "walk") == item("walk", "accepted")


def test_sending_does_not_count_the_queue_per_message(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = AwsClients(dynamodb.meta.endpoint_url, REGION).sqs()
    url = sqs.create_queue(QueueName="burst")["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName="burst.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]

    def uncountable(queue: Queue) -> int:
        raise AssertionError("the queue's messages were counted")

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(uncountable))
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": str(n)} for n in range(3)]
    )
    # Content-based deduplication still read: the same body twice is one message.
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    monkeypatch.undo()

    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "3"
    fifo_received = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in fifo_received] == ["same"]


def test_a_limited_query_answers_as_moto_does_without_sorting_the_whole_key(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lane's next messages: Limit, either direction, LastEvaluatedKey when more remain."""
    for n in (5, 3, 9, 1, 7):
        dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "lane"}, "sk": {"S": f"R#{n}"}})

    def query(limit: int, forward: bool = True) -> tuple[list[str], Any]:
        answer = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "lane"}},
            Limit=limit,
            ScanIndexForward=forward,
            ConsistentRead=True,
        )
        return [i["sk"]["S"] for i in answer["Items"]], answer.get("LastEvaluatedKey")

    direct = [query(2), query(2, forward=False), query(5), query(9)]
    monkeypatch.setattr(heapq, "nsmallest", _never)
    monkeypatch.setattr(heapq, "nlargest", _never)
    with pytest.raises(ClientError):  # the server's 500: the key's head is what it reads
        query(2)
    monkeypatch.undo()
    assert direct == [
        (["R#1", "R#3"], {"pk": {"S": "lane"}, "sk": {"S": "R#3"}}),
        (["R#9", "R#7"], {"pk": {"S": "lane"}, "sk": {"S": "R#7"}}),
        (["R#1", "R#3", "R#5", "R#7", "R#9"], None),
        (["R#1", "R#3", "R#5", "R#7", "R#9"], None),
    ]


def _never(*_: Any, **__: Any) -> Any:
    raise AssertionError("the key's head was read")
