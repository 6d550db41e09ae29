"""AWS requests counted with moto's request recorder, and what the local stack's functions
wrote to their logs: the per-message figures of the local-stack benchmarks."""

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

# The SigV4 credential scope names the service: Credential=<key>/<date>/<region>/<service>/...
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")
_SERVICE_NAMES = {
    "dynamodb": "DynamoDB",
    "s3": "S3",
    "sqs": "SQS",
    "events": "EventBridge",
    "secretsmanager": "SecretsManager",
}
# S3 speaks REST: the operation on an object follows from the method (no subresource here).
_S3_OBJECT_OPERATIONS = {
    "PUT": "PutObject",
    "GET": "GetObject",
    "HEAD": "HeadObject",
    "DELETE": "DeleteObject",
}
_DURATION = re.compile(rb"^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", re.MULTILINE)
_START = re.compile(rb"^START RequestId: ", re.MULTILINE)


def operation(entry: Mapping[str, Any]) -> str:
    """A recorded request as "Service.Operation", e.g. "DynamoDB.PutItem", "S3.PutObject"."""
    headers: Mapping[str, str] = entry["headers"]
    scope = _SCOPE.search(headers.get("Authorization", ""))
    service = scope.group(1) if scope else "unsigned"
    name = _SERVICE_NAMES.get(service, service)
    target = headers.get("X-Amz-Target")
    if target:  # JSON protocol: "DynamoDB_20120810.PutItem", "AWSEvents.PutEvents"
        return f"{name}.{target.rpartition('.')[2]}"
    if service == "s3":
        url = urlsplit(entry["url"])
        _, _, key = url.path.lstrip("/").partition("/")
        method = str(entry["method"])
        if key and not url.query:
            return f"S3.{_S3_OBJECT_OPERATIONS.get(method, method)}"
        return f"S3.{method} {'object' if key else 'bucket'}{'?' + url.query if url.query else ''}"
    return f"{name}.{entry['method']}"


def of_service(operations: Iterable[str], service: str) -> Counter[str]:
    """One service's operations, counted by name without the service ("PutItem")."""
    prefix = f"{service}."
    return Counter(op.removeprefix(prefix) for op in operations if op.startswith(prefix))


def per_message(counts: Mapping[str, int], messages: int) -> dict[str, float]:
    """Requests per message by operation, sorted by operation."""
    return {op: round(n / messages, 2) for op, n in sorted(counts.items())}


class MotoRecording:
    """moto's request recorder over a `with` block: `entries` are the recorded requests
    (headers, method, url, body), `operations()` their names (see `operation`). The recorder
    writes where MOTO_RECORDER_FILEPATH says (set in bench/__init__)."""

    def __init__(self, endpoint_url: str) -> None:
        self._api = f"{endpoint_url}/moto-api/recorder"
        self._file = Path(os.environ["MOTO_RECORDER_FILEPATH"])
        self.entries: list[dict[str, Any]] = []

    def __enter__(self) -> "MotoRecording":
        self._call("reset-recording")
        self._call("start-recording")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._call("stop-recording")
        try:
            lines = self._file.read_text().splitlines()
        finally:
            self._file.unlink(missing_ok=True)
        self.entries = [entry for line in lines for entry in _objects(line)]

    def operations(self) -> list[str]:
        return [operation(entry) for entry in self.entries]

    def _call(self, action: str) -> None:
        requests.post(f"{self._api}/{action}", timeout=10).raise_for_status()


def _objects(line: str) -> list[dict[str, Any]]:
    """The JSON objects of one recorder line: moto's threads write an entry and its newline in
    two writes, so two requests answered at once can share a line."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(line):
        entry, at = decoder.raw_decode(line, at)
        found.append(entry)
    return found


@dataclass(frozen=True)
class LogUsage:
    """What one function's log gained over a window: bytes, invocations, their durations."""

    bytes: int
    invocations: int
    duration_ms: tuple[float, ...]


def log_usage(before: bytes, after: bytes) -> LogUsage:
    """The part of a function's log written after `before` (the log's earlier contents).

    The local stack's worker prints Lambda's START and REPORT lines (infra/local/runtime/worker.py),
    so their count and durations are the invocations'; every byte, those lines included, is
    what CloudWatch Logs would ingest from the function.
    """
    if not after.startswith(before):
        raise ValueError("the log was rewritten, not appended to")
    added = after[len(before) :]
    return LogUsage(
        bytes=len(added),
        invocations=len(_START.findall(added)),
        duration_ms=tuple(float(ms) for ms in _DURATION.findall(added)),
    )


def invocations_running(logs_dir: Path) -> int:
    """Invocations started (a START line) and not ended (no REPORT line yet), over every
    function's log: 0 when the stack is idle."""
    logs = [path.read_bytes() for path in logs_dir.glob("*.log")]
    return sum(len(_START.findall(log)) - len(_DURATION.findall(log)) for log in logs)


class LogWatch:
    """The local stack's function logs (`<logs_dir>/<LogicalId>.log`) over a `with` block."""

    def __init__(self, logs_dir: Path) -> None:
        self._logs_dir = logs_dir
        self._before: dict[str, bytes] = {}
        self.usage: dict[str, LogUsage] = {}

    def __enter__(self) -> "LogWatch":
        self._before = self._read()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.usage = {
            name: log_usage(self._before.get(name, b""), contents)
            for name, contents in self._read().items()
        }

    def _read(self) -> dict[str, bytes]:
        return {path.stem: path.read_bytes() for path in sorted(self._logs_dir.glob("*.log"))}
