"""Bodies for fuzzing the Orange receipt callback: Orange's sample deliveryInfoNotification
mutated as JSON (fields replaced, removed, added, renamed) and then as text (truncated,
spliced, nested deep, numbers too long for int()), or any text at all."""

import copy
import json
from typing import Any

from hypothesis import strategies as st

from tests.support import event

SAMPLE: dict[str, Any] = json.loads(event("sqs_orange_receipt.json")["Records"][0]["body"])
NOTIFICATION = "deliveryInfoNotification"
PATHS: list[tuple[str, ...]] = [
    (NOTIFICATION,),
    (NOTIFICATION, "callbackData"),
    (NOTIFICATION, "deliveryInfo"),
    (NOTIFICATION, "deliveryInfo", "address"),
    (NOTIFICATION, "deliveryInfo", "deliveryStatus"),
]

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    # Around the bounds the parser sets on callbackData (256) and deliveryStatus (64).
    | st.text(min_size=60, max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


def _parent(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    """The object that holds path's last key, if an earlier mutation left one there."""
    node: Any = document
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _mutate(draw: st.DrawFn, document: dict[str, Any]) -> None:
    path = draw(st.sampled_from(PATHS))
    parent = _parent(document, path)
    if parent is None:
        return
    key = path[-1]
    match draw(st.sampled_from(["replace", "remove", "add", "rename"])):
        case "replace":
            parent[key] = draw(JSON_VALUES)
        case "remove":
            parent.pop(key, None)
        case "add":
            parent[draw(st.text(max_size=12))] = draw(JSON_VALUES)
        case "rename" if key in parent:
            parent[draw(st.sampled_from([key.lower(), key.upper(), f" {key}"]))] = parent.pop(key)


def _mangle(draw: st.DrawFn, body: str) -> str:
    match draw(st.sampled_from(["none", "truncate", "splice", "nest", "long number"])):
        case "truncate":
            return body[: draw(st.integers(0, len(body)))]
        case "splice":
            at = draw(st.integers(0, len(body)))
            return body[:at] + draw(st.text(min_size=1, max_size=20)) + body[at:]
        case "nest":  # json.loads would recurse past Python's limit
            depth = draw(st.sampled_from([2, 300, 5000]))
            return "[" * depth + body + "]" * depth
        case "long number":  # int() refuses more than 4300 digits
            return body.replace('"DeliveredToTerminal"', "9" * 5000)
    return body


@st.composite
def receipt_bodies(draw: st.DrawFn) -> str:
    """A request body as Orange, or anyone holding the URL, might post it."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    document = copy.deepcopy(SAMPLE)
    for _ in range(draw(st.integers(0, 3))):
        _mutate(draw, document)
    return _mangle(draw, json.dumps(document, ensure_ascii=draw(st.booleans())))
