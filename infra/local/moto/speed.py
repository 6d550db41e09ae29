"""moto patches that exist only for speed: without them the local stack answers the same,
but moto's costs grow with the data and, with DynamoDB requests served one at a time
(`infra.local.moto.correctness`), stall every function meanwhile: the local stack, not the
gateway, would set a benchmark's pace.

- A transaction's rollback keeps a copy of the items it touches, not of the whole table.
  moto copies every table a transaction names, a cost that grows with the table (about 0.2 s
  per send with a few thousand messages stored). The copy of the touched items is only right
  because no other request writes meanwhile (the correctness patch).
- A Query on the table's own key reads that key's items. moto lists and sorts every item of
  the table for each Query; the sender and the receipts run one per message (early receipts),
  so the cost grew with the table and took a tenth of the stack's process at 10 SMS/s. A Query
  with a Limit and no other condition (a lane's next messages) reads only the first Limit + 1
  of its key's items in key order, not the whole backlog sorted: moto then answers from them
  as it would from all (the extra one tells it whether there is more: LastEvaluatedKey).
- SQS checks a received message's retention against the queue's retention setting. moto
  reads it from all the queue's attributes, whose message counts take a pass over every
  queued message: ten passes per ReceiveMessage, each as long as the backlog. Sending reads
  the same attributes for one setting (content-based deduplication): a pass per message
  sent, so a burst of 10,000 took minutes of the moto process. Both read the setting alone.
- The server finds a request's service without listing moto's package folder on disk each
  time (`list_of_moto_modules`, under a lock every request waits for): listed once.
- DynamoDB's item operations and its stream's GetRecords answer with their JSON written
  directly. moto walks the botocore shape of every answer, value by value, to serialise it:
  a quarter of the stack's process under a send backlog (stream records carry two images of
  a message each). These answers are their JSON already; only bytes (base64), times (epoch
  seconds) and missing values (left out) need the shape's care.
- A response class's action names are listed once, not on every request (`inspect`).
- DynamoDB's model objects are not kept in moto's list of every instance ever made (for its
  dashboard): every version of every item, and every copy a transaction keeps, held forever,
  exhausted memory under a backlog.

None changes what an AWS API answers; tests/integration/test_local_moto_tuning.py checks
that. Each reaches into moto's private internals; pyproject.toml pins moto for that reason.
"""

import base64
import calendar
import copy
import functools
import heapq
import inspect
import json
import threading
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import moto.backends as moto_backends
import moto.core.responses as moto_responses
import moto.core.utils as moto_utils
import moto.dynamodb.models as dynamodb_models
from moto.core.model_instances import model_data
from moto.core.responses import ActionContext, ActionResult
from moto.core.utils import unix_time
from moto.dynamodb.comparisons import OpDefault
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.sqs.models import Message, Queue, SQSBackend

type ItemKey = tuple[str, DynamoType, DynamoType | None]


def apply() -> None:
    """Apply the speed patches in this process; calling it again does nothing."""
    if getattr(Table.query, "reads_one_key", False):
        return
    _rollback_touched_items_only()
    _query_reads_one_key()
    _retention_read_from_its_setting()
    _sends_read_deduplication_from_its_setting()
    _list_modules_once()
    _answers_written_directly()
    _action_names_listed_once()
    _dynamodb_instances_not_kept()


# Answers that are their JSON already, value for value (items, counts, keys, stream records):
# (service, operation). Both services speak JSON 1.0.
DIRECT_ANSWERS = frozenset(
    {
        *(
            ("dynamodb", operation)
            for operation in (
                "GetItem",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "Query",
                "Scan",
                "BatchGetItem",
                "BatchWriteItem",
                "TransactGetItems",
                "TransactWriteItems",
            )
        ),
        ("dynamodbstreams", "GetRecords"),
    }
)
JSON_1_0 = "application/x-amz-json-1.0"


def _answers_written_directly() -> None:
    generic = ActionResult.execute_result

    @functools.wraps(generic)
    def execute_result(self: ActionResult, context: ActionContext) -> Any:
        operation = (context.service_model.service_name, context.operation_model.name)
        if operation not in DIRECT_ANSWERS or isinstance(self.result, Exception):
            return generic(self, context)
        body = json.dumps(_json_ready(self.result), separators=(",", ":"))
        return 200, {"Content-Type": JSON_1_0}, body

    ActionResult.execute_result = execute_result  # type: ignore[method-assign]


def _json_ready(value: Any) -> Any:
    """A moto answer as its JSON: missing values left out, bytes in base64, times in epoch
    seconds to the millisecond (as moto's serialiser writes them for JSON protocols)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple | set):
        return [_json_ready(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        seconds = calendar.timegm(value.timetuple())
        return seconds + (value.microsecond // 1000) / 1000 if value.microsecond else seconds
    return value


class _Discarded(list[Any]):
    """A list that keeps nothing appended to it."""

    def append(self, _: Any) -> None:
        pass


def _dynamodb_instances_not_kept() -> None:
    for model in model_data["dynamodb"].values():
        model.instances_tracked = _Discarded()  # type: ignore[attr-defined]


def _action_names_listed_once() -> None:
    # The responses module's own name for it, which BaseResponse.call_action reads.
    listed = functools.cache(moto_utils.method_names_from_class)
    moto_responses.method_names_from_class = listed  # type: ignore[attr-defined]


def _list_modules_once() -> None:
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules


def _sends_read_deduplication_from_its_setting() -> None:
    attributes = Queue.attributes
    send = SQSBackend.send_message
    sending = threading.local()

    def cheap_while_sending(self: Queue) -> dict[str, Any]:
        if not getattr(sending, "on", False):
            return attributes.fget(self)  # type: ignore[attr-defined,no-any-return]
        # What a send reads: the FIFO settings (moto writes its booleans lowercased).
        if not self.fifo_queue:
            return {}
        deduplication = self.content_based_deduplication  # type: ignore[attr-defined]
        return {"ContentBasedDeduplication": str(deduplication).lower()}

    @functools.wraps(send)
    def send_message(self: SQSBackend, *args: Any, **kwargs: Any) -> Any:
        sending.on = True
        try:
            return send(self, *args, **kwargs)
        finally:
            sending.on = False

    Queue.attributes = property(cheap_while_sending)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _retention_read_from_its_setting() -> None:
    def is_message_valid_based_on_retention_period(
        self: SQSBackend, queue_name: str, message: Message
    ) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
        return retention + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )


def _query_reads_one_key() -> None:
    query = Table.query
    all_items = Table.all_items
    signature = inspect.signature(query)
    only = threading.local()  # the hash key the current thread's Query reads, if any

    @functools.wraps(query)
    def keyed_query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs).arguments
        if bound.get("index_name") or bound.get("hash_key") is None:
            return query(self, *args, **kwargs)
        only.key = bound["hash_key"]
        only.head = None
        limit = bound.get("limit")
        # moto's "no filter" is an OpDefault, not None.
        unfiltered = isinstance(bound.get("filter_expression"), OpDefault | None)
        plain = unfiltered and not (
            bound.get("range_comparison") or bound.get("exclusive_start_key")
        )
        if limit and plain and not bound.get("filter_kwargs"):
            only.head = (int(limit) + 1, bound.get("scan_index_forward") is not False)
        try:
            return query(self, *args, **kwargs)
        finally:
            only.key = only.head = None

    @functools.wraps(all_items)
    def items_of_key(self: Table) -> list[Item]:
        key = getattr(only, "key", None)
        if key is None:
            return all_items(self)
        # moto keeps a table with a range key as {hash: {range: item}}, else {hash: item}.
        held: Any = self.items.get(key)
        if held is None:
            return []
        if not self.range_key_attr:
            return [held]
        head = getattr(only, "head", None)
        if head is None:
            return list(held.values())
        count, forward = head
        pick = heapq.nsmallest if forward else heapq.nlargest
        return pick(count, held.values(), key=lambda item: item.range_key)

    keyed_query.reads_one_key = True  # type: ignore[attr-defined]
    Table.query = keyed_query  # type: ignore[method-assign]
    Table.all_items = items_of_key  # type: ignore[method-assign]


def _rollback_touched_items_only() -> None:
    # moto's transaction takes its whole-table backup with `copy.deepcopy(table)`: a table
    # "copied" this way is the table itself, so moto's own rollback restores nothing and the
    # wrapper below restores the touched items instead.
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    dynamodb_models.copy = SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined,assignment]
    transact: Callable[[DynamoDBBackend, list[dict[str, Any]]], None] = (
        DynamoDBBackend.transact_write_items
    )

    @functools.wraps(transact)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = _save_touched(self, transact_items)
        try:
            transact(self, transact_items)
        except Exception:
            _restore(self, saved)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _Saved:
    """The touched items as they were (None: absent) and each table's stream length."""

    def __init__(self) -> None:
        self.items: dict[ItemKey, Item | None] = {}
        self.stream_lengths: dict[str, int] = {}


def _save_touched(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> _Saved:
    saved = _Saved()
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName", ""))
        if table is None:
            continue  # moto answers the unknown table itself
        attrs = op["Item"] if op_type == "Put" else op.get("Key", {})
        key = _key_of(table, attrs)
        if key is None:
            continue  # moto answers the malformed key itself, before writing anything
        current = table.get_item(key[1], key[2])
        saved.items[key] = copy.deepcopy(current)
        if table.stream_shard is not None:
            saved.stream_lengths[table.name] = len(table.stream_shard.items)
    return saved


def _key_of(table: Table, attrs: dict[str, Any]) -> ItemKey | None:
    if table.hash_key_attr not in attrs:
        return None
    range_key = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attrs:
            return None
        range_key = DynamoType(attrs[table.range_key_attr])
    return table.name, DynamoType(attrs[table.hash_key_attr]), range_key


def _restore(backend: DynamoDBBackend, saved: _Saved) -> None:
    for (table_name, hash_key, range_key), item in saved.items.items():
        table = backend.tables[table_name]
        if item is None:
            if table.get_item(hash_key, range_key) is not None:
                table.delete_item(hash_key, range_key)
        elif range_key is None:
            table.items[hash_key] = item  # type: ignore[assignment]
        else:
            table.items[hash_key][range_key] = item
    for table_name, length in saved.stream_lengths.items():
        shard = backend.tables[table_name].stream_shard
        if shard is not None:
            # A cancelled transaction changed nothing: its writes leave no stream record.
            del shard.items[length:]
