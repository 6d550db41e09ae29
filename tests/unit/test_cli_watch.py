"""`cgw watch`: its loop against a scripted status API and a fake clock (counts, exit codes,
missing ids, failed reads, the JSON lines), the ids of a send file, and the command."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cgw import cli
from cgw.gateway_client import GatewayClient, GatewayError
from cgw.watch import (
    EXIT_DELIVERED,
    EXIT_NOT_DELIVERED,
    EXIT_TIMEOUT,
    MISSING,
    Round,
    Watch,
    file_ids,
    follow,
)


@dataclass
class Clock:
    now: float = 100.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class StatusApi:
    """Each id's answers in turn (its last one repeated): a status, None for 404, or an
    exception to raise. Counts the reads of each id."""

    script: Mapping[str, Sequence[str | Exception | None]]
    reads: dict[str, int] = field(default_factory=dict)

    def status(self, message_id: str) -> dict[str, Any] | None:
        answers = self.script[message_id]
        count = self.reads.get(message_id, 0)
        self.reads[message_id] = count + 1
        answer = answers[min(count, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            return None
        reason = "DeliveryImpossible" if answer == "undelivered" else None
        return {"id": message_id, "status": answer, **({"reason": reason} if reason else {})}


def watch(api: StatusApi, clock: Clock, *, timeout: float = 60.0) -> tuple[list[Round], Any]:
    rounds: list[Round] = []
    ids = list(api.script)
    summary = Watch(
        ids, api.status, interval=2.0, timeout=timeout, clock=clock, sleep=clock.sleep
    ).run(rounds.append)
    return rounds, summary


def test_every_message_delivered_ends_0_and_a_settled_one_is_not_read_again() -> None:
    api = StatusApi(
        {
            "a": ["delivered"],
            "b": ["accepted", "sent", "delivered"],
            "c": ["submitted", "delivered"],
        }
    )
    clock = Clock()
    rounds, summary = watch(api, clock)

    assert [r.counts for r in rounds] == [
        {"accepted": 1, "delivered": 1, "submitted": 1},
        {"delivered": 2, "sent": 1},
        {"delivered": 3},
    ]
    assert [r.settled for r in rounds] == [1, 2, 3]
    assert api.reads == {"a": 1, "b": 3, "c": 2}
    assert clock.slept == [2.0, 2.0]
    assert (summary.timed_out, summary.exit_code) == (False, EXIT_DELIVERED)


def test_all_settled_with_some_not_delivered_ends_1_and_lists_them() -> None:
    api = StatusApi(
        {
            "ok": ["delivered"],
            "undeliv": ["sent", "undelivered"],
            "lost": ["unknown"],
            "bad": ["failed"],
        }
    )
    _, summary = watch(api, Clock())

    assert summary.exit_code == EXIT_NOT_DELIVERED
    assert summary.last.counts == {"delivered": 1, "failed": 1, "undelivered": 1, "unknown": 1}
    assert [(i, s.status, s.reason) for i, s in summary.not_delivered] == [
        ("undeliv", "undelivered", "DeliveryImpossible"),
        ("lost", "unknown", None),
        ("bad", "failed", None),
    ]


def test_messages_still_in_flight_at_the_timeout_end_2() -> None:
    api = StatusApi({"done": ["delivered"], "stuck": ["sent"]})
    clock = Clock()
    rounds, summary = watch(api, clock, timeout=5.0)

    assert (summary.timed_out, summary.exit_code) == (True, EXIT_TIMEOUT)
    # Polls at 0, 2, 4 and the timeout itself (5), never past it.
    assert clock.slept == [2.0, 2.0, 1.0]
    assert [r.elapsed for r in rounds] == [0.0, 2.0, 4.0, 5.0]
    assert api.reads == {"done": 1, "stuck": 4}


def test_an_id_the_gateway_does_not_know_is_missing_never_settled_and_listed() -> None:
    api = StatusApi({"known": ["delivered"], "typo": [None]})
    _, summary = watch(api, Clock(), timeout=4.0)

    assert summary.exit_code == EXIT_TIMEOUT
    assert summary.last.counts == {"delivered": 1, MISSING: 1}
    assert [(i, s.status) for i, s in summary.not_delivered] == [("typo", MISSING)]


def test_a_failed_read_keeps_what_was_seen_and_is_tried_again() -> None:
    api = StatusApi(
        {"m": ["sent", GatewayError("HTTP 429"), ConnectionError("reset"), "delivered"]}
    )
    rounds, summary = watch(api, Clock())

    assert [(r.counts, r.errors) for r in rounds] == [
        ({"sent": 1}, 0),
        ({"sent": 1}, 1),
        ({"sent": 1}, 1),
        ({"delivered": 1}, 0),
    ]
    assert summary.exit_code == EXIT_DELIVERED


def test_json_prints_a_line_per_round_then_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    api = StatusApi({"a": ["accepted", "delivered"], "b": ["rejected"]})
    clock = Clock()
    code = follow(
        ["a", "b", "a"],
        api.status,
        console=Console(),
        as_json=True,
        clock=clock,
        sleep=clock.sleep,
    )

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == EXIT_NOT_DELIVERED
    assert [line["event"] for line in lines] == ["round", "round", "summary"]
    assert [(line["settled"], line["total"]) for line in lines] == [(1, 2), (2, 2), (2, 2)]
    assert lines[0]["counts"] == {"accepted": 1, "rejected": 1}
    summary = lines[-1]
    assert summary["counts"] == {"delivered": 1, "rejected": 1}
    assert (summary["timedOut"], summary["exitCode"]) == (False, EXIT_NOT_DELIVERED)
    assert summary["notDelivered"] == [{"id": "b", "status": "rejected", "reason": None}]


def test_the_live_view_ends_with_the_counts_and_the_messages_not_delivered(
    tmp_path: Path,
) -> None:
    api = StatusApi({f"m-{n}": ["failed"] for n in range(25)} | {"ok": ["delivered"]})
    output = tmp_path / "out.txt"
    with output.open("w") as file:
        code = follow(list(api.script), api.status, console=Console(file=file, width=120))

    text = output.read_text()
    assert code == EXIT_NOT_DELIVERED
    assert "not delivered (25)" in text
    assert "m-19" in text
    assert "m-20" not in text  # 20 listed at most
    assert "… and 5 more" in text
    assert "25 of 26 not delivered" in text


def test_a_send_file_gives_the_ids_its_requests_name() -> None:
    sms = {"channel": "sms", "to": "+2250700000001", "text": "Hi"}
    lines = [
        json.dumps({**sms, "id": "order-1"}),
        "",
        json.dumps(sms),  # named by the gateway from its SQS message id: not found again
        json.dumps({**sms, "id": "order-2", "campaign": "spring"}),
    ]
    assert file_ids("\n".join(lines)) == (["order-1", "order-2"], 1)


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    """A local stack's endpoints file (nothing runs: the status API is replaced)."""
    endpoints = {
        "api_url": "http://127.0.0.1:9",
        "send_queue_url": "http://127.0.0.1:9/queue/send",
        "region": "eu-west-1",
        "aws_endpoint_url": "http://127.0.0.1:9",
        "table_name": "messages",
    }
    (tmp_path / "endpoints.json").write_text(json.dumps(endpoints))
    return tmp_path


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    known: dict[str, str] = {}

    def status(_: GatewayClient, message_id: str) -> dict[str, Any] | None:
        return {"id": message_id, "status": known[message_id]} if message_id in known else None

    monkeypatch.setattr(GatewayClient, "status", status)
    return known


def test_the_command_watches_a_send_file_or_ids(
    local_dir: Path,
    statuses: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    statuses.update({"order-1": "delivered", "order-2": "expired"})
    sends = tmp_path / "sends.jsonl"
    sms = {"channel": "sms", "to": "+2250700000001", "text": "Hi"}
    sends.write_text("\n".join(json.dumps({**sms, "id": i}) for i in ("order-1", "order-2")))
    base = ["--local-dir", str(local_dir)]

    assert cli.main([*base, "watch", "--json", str(sends)]) == EXIT_NOT_DELIVERED
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["counts"] == {"delivered": 1, "expired": 1}

    assert cli.main([*base, "--json", "watch", "order-1"]) == EXIT_DELIVERED
    assert cli.main([*base, "watch", "--timeout", "0", "order-1", "never-sent"]) == EXIT_TIMEOUT
    assert "missing" in capsys.readouterr().out
    assert cli.main([*base, "watch"]) == 2  # nothing to watch: a usage error
    assert cli.main([*base, "watch", "no/such/file.jsonl"]) == 1  # a path, not an id
