"""`cgw send FILE` against SQS in moto: batches of ten, entries SQS fails on its side sent
again (and only they), what still fails reported by line, and the ETA at the sender's rates."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from cgw import cli
from cgw.endpoints import Endpoints
from cgw.gateway_client import QUEUE_ATTEMPTS, GatewayClient

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws")]

REGION = "eu-west-1"
# The sender's environment as the local stack records it: default 5/s, Mali 10/s.
SENDER_ENVIRONMENT = {
    "ORANGE_API_URL": "https://orange.invalid",
    "ORANGE_CREDENTIALS_SECRET": "creds",
    "ORANGE_TOKEN_SECRET": "token",
    "ORANGE_RATE_PER_SECOND": "5",
    "ORANGE_COUNTRY_ACCOUNTS": "MLI=mali",
    "ORANGE_ACCOUNT_RATES": "mali=10",
}


class FlakySqs:
    """moto's SQS, except that SendMessageBatch fails the entries a script names: on SQS's
    side (retryable) for the first `times` calls that carry them, or as the sender's fault."""

    def __init__(self, real: Any, server: dict[int, int], sender: set[int]) -> None:
        self.real = real
        self.server = dict(server)
        self.sender = sender
        self.calls: list[list[int]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[Any]) -> dict[str, Any]:
        self.calls.append([int(e["Id"]) for e in Entries])
        failed, kept = [], []
        for entry in Entries:
            index = int(entry["Id"])
            if index in self.sender:
                failed.append(_failure(entry["Id"], sender_fault=True))
            elif self.server.get(index, 0) > 0:
                self.server[index] -= 1
                failed.append(_failure(entry["Id"], sender_fault=False))
            else:
                kept.append(entry)
        answer: dict[str, Any] = {"Successful": []}
        if kept:  # SQS refuses an empty batch
            answer = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=kept)
        answer["Failed"] = answer.get("Failed", []) + failed
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _failure(entry_id: str, *, sender_fault: bool) -> dict[str, Any]:
    code = "InvalidMessageContents" if sender_fault else "InternalError"
    return {"Id": entry_id, "SenderFault": sender_fault, "Code": code, "Message": "scripted"}


@pytest.fixture
def queue_url() -> str:
    return boto3.client("sqs", region_name=REGION).create_queue(QueueName="send")["QueueUrl"]


def endpoints(queue_url: str) -> Endpoints:
    # A local-stack style endpoint that moto's in-process mock answers (an AWS hostname).
    return Endpoints(
        api_url="http://127.0.0.1:1",
        send_queue_url=queue_url,
        region=REGION,
        aws_endpoint_url=f"https://sqs.{REGION}.amazonaws.com",
        extra={"function_environments": {"SenderFunction": SENDER_ENVIRONMENT}},
    )


def queued_bodies(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        bodies += [m["Body"] for m in messages]
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


def test_failed_entries_are_sent_again_alone_and_the_rest_reported(queue_url: str) -> None:
    sqs = FlakySqs(
        boto3.client("sqs", region_name=REGION), server={3: 1, 17: 2, 8: 99}, sender={12}
    )
    sleeps: list[float] = []
    client = GatewayClient(endpoints(queue_url), sqs=sqs, sleep=sleeps.append)  # type: ignore[arg-type]
    bodies = [json.dumps({"id": f"m-{i}"}) for i in range(25)]
    settled: list[int] = []

    result = client.queue(bodies, progress=settled.append)

    assert result.queued == 23
    assert [(f.index, f.reason) for f in result.not_queued] == [
        (8, "InternalError: scripted"),  # SQS's side every time: given up after the attempts
        (12, "InvalidMessageContents: scripted"),  # the request's fault: not sent again
    ]
    # Each retry carries only the entries that failed, never one already queued.
    assert sqs.calls == [
        list(range(10)),
        [3, 8],
        [8],
        [8],
        list(range(10, 20)),
        [17],
        [17],
        list(range(20, 25)),
    ]
    assert len(sqs.calls[:4]) == QUEUE_ATTEMPTS
    assert sleeps == [0.2, 0.4, 0.8, 0.2, 0.4]
    assert settled == [10, 10, 5]
    expected = sorted(b for i, b in enumerate(bodies) if i not in {8, 12})
    assert sorted(queued_bodies(queue_url)) == expected  # every one once, no duplicate


def test_batches_stay_under_the_queues_payload_limit(queue_url: str) -> None:
    sqs = FlakySqs(boto3.client("sqs", region_name=REGION), server={}, sender=set())
    client = GatewayClient(endpoints(queue_url), sqs=sqs)  # type: ignore[arg-type]
    bodies = [json.dumps({"id": f"m-{i}", "pad": "x" * 300}) for i in range(6)]

    result = client.queue(bodies, max_batch_bytes=2 * len(bodies[0]))

    assert result.queued == 6
    assert sqs.calls == [[0, 1], [2, 3], [4, 5]]


def sms_line(message_id: str, to: str = "+2250700000001") -> str:
    return json.dumps({"id": message_id, "channel": "sms", "to": to, "text": "Hello!"})


def test_cgw_send_file_queues_reports_failures_by_line_and_the_eta(
    queue_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = boto3.client("sqs", region_name=REGION)
    for i in range(6):  # already waiting when the file is sent
        real.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": f"old-{i}"}))
    lines = [sms_line(f"civ-{i}") for i in range(8)] + [
        "",
        sms_line("mali-1", to="+22376123456"),
        sms_line("mali-2", to="+22376123457"),
        sms_line("lost"),
    ]
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text("\n".join(lines) + "\n")
    flaky = FlakySqs(real, server={10: 99}, sender=set())  # "lost", the 11th request
    monkeypatch.setattr(cli, "_endpoints", lambda args: endpoints(queue_url))
    monkeypatch.setattr(Endpoints, "sqs", lambda self: flaky)
    monkeypatch.setattr("cgw.gateway_client.RETRY_BASE_SECONDS", 0.0)

    code = cli.main(["--json", "send", str(requests_file)])

    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert summary["queued"] == 10
    assert summary["failed"] == [{"line": 12, "id": "lost", "reason": "InternalError: scripted"}]
    assert summary["ahead"] == 6
    assert summary["eta_error"] is None
    # 10 queued after 6: each account's share of the backlog grows by 6/10 (all normal).
    assert summary["eta_seconds"] == {
        "default": {"normal": round(8 * 1.6 * 1.04 / 5, 1)},
        "mali": {"normal": round(2 * 1.6 * 1.04 / 10, 1)},
    }
    assert len(queued_bodies(queue_url)) == 6 + 10


def test_cgw_send_file_shows_progress_and_the_eta_in_words(
    queue_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text("\n".join(sms_line(f"m-{i}") for i in range(30)))
    monkeypatch.setattr(cli, "_endpoints", lambda args: endpoints(queue_url))

    assert cli.main(["send", str(requests_file)]) == 0

    output = capsys.readouterr().out
    assert "queueing" in output
    assert "30/30" in output
    assert "queued 30 send request(s); 0 already on the queue ahead" in output
    assert "default" in output
    assert "normal" in output  # no priority given: every SMS is normal
    assert "7 s" in output  # 30 slots of 1.04/5 s


def test_cgw_send_file_queues_each_line_with_the_priority_and_campaign_given(
    queue_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    own = json.loads(sms_line("own"))
    own.update(priority="high", campaign="own-1")
    pl_mms = json.dumps({"id": "pl", "channel": "orange-pl-mms", "providerMessageId": "b413"})
    lines = [sms_line("a"), sms_line("b", to="+22376123456"), json.dumps(own), pl_mms]
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text("\n".join(lines))
    monkeypatch.setattr(cli, "_endpoints", lambda args: endpoints(queue_url))

    code = cli.main(
        ["--json", "send", "--priority", "bulk", "--campaign", "c1", str(requests_file)]
    )

    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["queued"] == 4
    queued = {body["id"]: body for body in map(json.loads, queued_bodies(queue_url))}
    assert queued == {
        "a": {**json.loads(lines[0]), "priority": "bulk", "campaign": "c1"},
        "b": {**json.loads(lines[1]), "priority": "bulk", "campaign": "c1"},
        "own": own,  # its own priority and campaign kept
        "pl": json.loads(pl_mms),  # an orange-pl-mms request takes neither
    }
    # Per account and priority: the high SMS is not behind the bulk one on default.
    assert summary["eta_seconds"] == {
        "default": {"high": round(1 * 1.04 / 5, 1), "bulk": round(2 * 1.04 / 5, 1)},
        "mali": {"bulk": round(1 * 1.04 / 10, 1)},
    }


def test_a_bad_line_refuses_the_whole_file_before_anything_is_queued(
    queue_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text(
        "\n".join([sms_line("ok-1"), sms_line("bad").replace('"text"', '"txt"'), sms_line("ok-2")])
    )
    monkeypatch.setattr(cli, "_endpoints", lambda args: endpoints(queue_url))

    assert cli.main(["--json", "send", str(requests_file)]) == 2

    captured = capsys.readouterr()
    reason = "text: Field required; txt: unknown field"
    assert json.loads(captured.out) == {"queued": 0, "refused": [{"line": 2, "reason": reason}]}
    assert f"line 2: {reason}" in captured.err
    assert "nothing was queued" in captured.err
    assert queued_bodies(queue_url) == []


def test_stdin_is_a_file_too_and_without_the_senders_rates_there_is_no_eta(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = Endpoints(
        api_url="http://127.0.0.1:1",
        send_queue_url=queue_url,
        region=REGION,
        aws_endpoint_url=f"https://sqs.{REGION}.amazonaws.com",
        extra={},
    )
    monkeypatch.setattr(cli, "_endpoints", lambda args: bare)
    monkeypatch.setattr("sys.stdin", _Stdin(sms_line("one") + "\n" + sms_line("two")))

    assert cli.main(["--json", "send", "-"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert summary["queued"] == 2
    assert summary["eta_seconds"] is None
    assert "has no environment for SenderFunction" in summary["eta_error"]


class _Stdin:
    def __init__(self, text: str) -> None:
        self.text = text

    def read(self) -> str:
        return self.text
