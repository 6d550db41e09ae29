"""moto patches the local stack needs to answer correctly: without them, requests fail.

- One DynamoDB request at a time. Many function workers call moto's server at once, and its
  DynamoDB models are not safe across request threads: TransactWriteItems deep-copies each
  table it touches for its rollback while other request threads may write to it, which fails
  with "dictionary changed size during iteration". DynamoDB itself has no such limit. The
  speed patches (`infra.local.moto.speed`) count on it too: a transaction's rollback restores
  the items it touched as it saved them, which is only right when nothing else wrote meanwhile.

Each patch reaches into moto's private internals; pyproject.toml pins moto for that reason.
"""

import functools
import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler

_REQUEST_LOCK = threading.Lock()


def apply() -> None:
    """Apply the correctness patches in this process; calling it again does nothing."""
    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    _serialize_requests()


def _serialize_requests() -> None:
    handler = DynamoHandler.call_action

    @functools.wraps(handler)
    def call_action(self: DynamoHandler) -> Any:
        with _REQUEST_LOCK:
            return handler(self)

    call_action.serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
