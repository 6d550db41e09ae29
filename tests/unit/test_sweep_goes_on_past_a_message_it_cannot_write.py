"""The 72-hour sweep (`StatusTracker.sweep_overdue`, through the sweeper function): a message
it cannot write neither stops it nor goes unnoticed."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.sweeper import app as sweeper_app
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message
from gateway.core.status import Status
from gateway.core.tracking import NO_FINAL_RECEIPT, StatusTracker
from gateway.observability import metrics
from tests.fakes import MemoryMessageStore
from tests.support import FakeLambdaContext, LogLines

PHONE = "+2250700000001"
NOW = "2026-01-05T00:00:00.000Z"


@pytest.fixture(autouse=True)
def _no_metrics_left() -> Iterator[None]:
    """Metrics are buffered until a handler flushes them: none from another test."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


class WriteRefused(Exception):
    """What DynamoDB's client raises for a write it refuses."""


@dataclass
class RefusingStore(MemoryMessageStore):
    """Refuses every write of the messages in `refused`."""

    refused: set[str] = field(default_factory=set)

    def save(self, before: Message, after: Message) -> bool:
        if after.id in self.refused:
            raise WriteRefused(f"cannot write {after.to}")
        return super().save(before, after)


def overdue_store(*ids: str, refused: set[str]) -> RefusingStore:
    store = RefusingStore(refused=refused)
    for message_id in ids:
        store.create(
            Message.new(
                id=message_id,
                channel="sms",
                to=PHONE,
                update=StatusUpdate(Status.SUBMITTED, "2026-01-01T00:00:00.000Z", "gateway"),
                final_by="2026-01-04T00:00:00.000Z",
            )
        )
    return store


def status(store: RefusingStore, message_id: str) -> Status:
    message = store.get(message_id)
    assert message is not None
    return message.status


def test_the_sweep_goes_on_past_a_message_it_cannot_write_then_raises(
    log_lines: LogLines,
) -> None:
    store = overdue_store("a", "b", "c", "d", refused={"b", "c"})

    with pytest.raises(ExceptionGroup) as incomplete:
        StatusTracker(store).sweep_overdue(NOW)

    assert [type(e) for e in incomplete.value.exceptions] == [WriteRefused, WriteRefused]
    assert {m: status(store, m) for m in "abcd"} == {
        "a": Status.UNKNOWN,
        "b": Status.SUBMITTED,  # still overdue: the next sweep tries it again
        "c": Status.SUBMITTED,
        "d": Status.UNKNOWN,
    }
    assert store.get("a").progress.reason == NO_FINAL_RECEIPT  # type: ignore[union-attr]
    assert list(store.overdue(NOW)) == ["b", "c"]
    failures = [line for line in log_lines() if line["message"] == "overdue message not swept"]
    assert [(f["message_id"], f["error"]) for f in failures] == [
        ("b", "WriteRefused"),
        ("c", "WriteRefused"),
    ]
    assert PHONE not in json.dumps(log_lines())


def test_the_sweeper_function_fails_visibly_and_counts_the_failures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = overdue_store("a", "b", refused={"b"})
    monkeypatch.setattr(sweeper_app, "tracker", lambda: StatusTracker(store))
    monkeypatch.setattr(sweeper_app, "utc_now", lambda: NOW)

    with pytest.raises(ExceptionGroup):
        sweeper_app.handler({}, FakeLambdaContext())

    documents: list[dict[str, Any]] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    [emf] = documents
    assert (emf["NoFinalReceipt"], emf["SweepFailures"]) == ([1.0], [1.0])
