"""Test helpers shared by every tier: tables from template.yaml, fakes of outside systems."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from cfnlint.decode import decode
from requests.adapters import BaseAdapter

from infra.local.template.resources import create_table_request

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"


def create_tables(names: dict[str, str]) -> None:
    """Create the template's tables (logical id -> name) with their keys and indexes, so a key
    change in template.yaml cannot drift from what the tests run against."""
    template, errors = decode(str(TEMPLATE))
    assert template is not None, errors
    client = boto3.client("dynamodb")
    for logical_id, name in names.items():
        properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
        client.create_table(**create_table_request(name, properties))


EVENTS = ROOT / "events"
# The log_lines fixture (tests/unit): the gateway logger's JSON lines so far.
type LogLines = Callable[[], list[dict[str, Any]]]


def event(name: str, **overrides: Any) -> dict[str, Any]:
    """A sample event from events/ (the ones `sam local invoke -e` takes), with overrides."""
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    loaded.update(overrides)
    return loaded


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "local"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


Answer = tuple[int, Any, dict[str, str]] | Exception


class ScriptedAdapter(BaseAdapter):
    """A requests transport that answers from a script (status, body, headers) or raises:
    HTTP clients tested without a network. A body that is not bytes or text goes as JSON."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        self.timeouts.append(kwargs.get("timeout"))
        if isinstance(self.answer, Exception):
            raise self.answer
        status, body, headers = self.answer
        response = requests.Response()
        response.status_code = status
        if isinstance(body, bytes):
            response._content = body
        else:
            response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
        response.headers.update(headers)
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def scripted_session(answer: Answer) -> tuple[requests.Session, ScriptedAdapter]:
    adapter = ScriptedAdapter(answer)
    session = requests.Session()
    session.mount("https://", adapter)
    return session, adapter
