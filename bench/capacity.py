"""DynamoDB write request units of recorded requests, from the items they carry.

moto does not report consumed capacity, so it is worked out as DynamoDB bills on demand: a
write costs one unit per started KB of the item, a transactional write twice that. Item size
follows DynamoDB's rules: attribute names plus values (a string's UTF-8 bytes, a number about
one byte per two significant digits plus one, a list or map 3 bytes plus 1 per element).
DynamoDB bills a replaced item at the larger of its old and new size; the new one is used
here, as the gateway's items grow with their history.
"""

import base64
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from bench.recording import operation

KB = 1024
TRANSACTION_FACTOR = 2  # a transactional write costs twice a plain one
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})
PLAIN_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})


def item_bytes(item: Mapping[str, Any]) -> int:
    """The size DynamoDB bills an item at (its attributes in the low-level JSON form)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Mapping[str, Any]) -> int:  # noqa: PLR0911 - one return per type
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return _number_bytes(str(content))
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in content)
    if kind == "NS":
        return sum(_number_bytes(str(n)) for n in content)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in content)
    if kind == "L":
        return 3 + sum(1 + _value_bytes(v) for v in content)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_bytes(v) for k, v in content.items())
    raise ValueError(f"not a DynamoDB attribute value: {value!r}")


def _number_bytes(number: str) -> int:
    digits = number.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0")
    return math.ceil(len(digits) / 2) + 1


def write_units(target_operation: str, body: Mapping[str, Any]) -> int | None:
    """Write request units of one DynamoDB request, None when it writes nothing.

    Items whose size the request does not show (UpdateItem, DeleteItem, a transaction's
    Update or Delete) count as one KB: the gateway writes whole items with PutItem.
    """
    if target_operation == "PutItem":
        return _units(body["Item"])
    if target_operation in ("UpdateItem", "DeleteItem"):
        return 1
    if target_operation == "BatchWriteItem":
        return sum(
            _units(request["PutRequest"]["Item"]) if "PutRequest" in request else 1
            for requests in body["RequestItems"].values()
            for request in requests
        )
    if target_operation == "TransactWriteItems":
        return sum(
            TRANSACTION_FACTOR * (_units(item["Put"]["Item"]) if "Put" in item else 1)
            for item in body["TransactItems"]
        )
    return None


def _units(item: Mapping[str, Any]) -> int:
    return max(1, math.ceil(item_bytes(item) / KB))


def request_body(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded JSON-protocol request's body (moto's recorder base64-encodes raw bytes)."""
    raw = entry.get("body") or "{}"
    text = base64.b64decode(raw).decode() if entry.get("body_encoded") else str(raw)
    body: dict[str, Any] = json.loads(text)
    return body


def recorded_write_units(entries: Iterable[Mapping[str, Any]]) -> int:
    """Write request units of the DynamoDB requests among moto's recorded requests."""
    total = 0
    for entry in entries:
        service, _, name = operation(entry).partition(".")
        if service == "DynamoDB":
            total += write_units(name, request_body(entry)) or 0
    return total


def transaction_items(entries: Iterable[Mapping[str, Any]]) -> list[int]:
    """The number of items of each recorded TransactWriteItems."""
    return [
        len(request_body(entry)["TransactItems"])
        for entry in entries
        if operation(entry) == "DynamoDB.TransactWriteItems"
    ]
