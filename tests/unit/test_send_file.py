"""`cgw send FILE`: the file read with the gateway's own model, refused whole on a bad line;
the command line's scheduling defaults merged into the lines that do not set them; the SMS
that go out in UCS-2, and what they cost; and `cgw status`'s scheduling lines."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cgw import cli
from cgw.endpoints import Endpoints
from cgw.gateway_client import QueueResult, QueueState
from cgw.send_file import (
    DefaultsRefused,
    RequestsRefused,
    Ucs2Cost,
    read_requests,
    scheduling_defaults,
    ucs2_cost,
)
from gateway.core.model import utc_text
from gateway.core.send_request import InvalidRequest, MmsRequest, SmsRequest, parse_send_request

MAX = 1024
TOMORROW = utc_text(datetime.now(UTC) + timedelta(days=1))
DEFAULTS = scheduling_defaults(priority="bulk", valid_for=600, send_at=TOMORROW, campaign="c1")


def line(**fields: Any) -> str:
    return json.dumps({"channel": "sms", "to": "+2250700000001", "text": "Hello!", **fields})


def test_every_request_comes_with_its_line_and_body_as_written() -> None:
    lines = [line(id="a"), "", "   ", line(id="b", senderName="MonService") + "  ", line()]

    requests = read_requests(lines, max_body_bytes=MAX)

    assert [r.line for r in requests] == [1, 4, 5]
    assert [r.request.id for r in requests] == ["a", "b", None]
    assert requests[1].body == line(id="b", senderName="MonService")
    assert requests[1].request.sender_name == "MonService"  # type: ignore[union-attr]


def test_a_file_with_bad_lines_is_refused_with_each_line_and_its_reason() -> None:
    lines = [
        line(id="ok-1"),
        "{not json",
        "[1]",
        line(id="typo", colour="red"),
        line(id="fr", to="+33612345678"),
        line(id="ok-1"),
        line(id="big", text="x" * 1000),
        line(id="ok-2"),
    ]

    with pytest.raises(RequestsRefused) as refused:
        read_requests(lines, max_body_bytes=MAX)

    assert [str(problem) for problem in refused.value.problems] == [
        "line 2: body is not JSON: Expecting property name enclosed in double quotes at position 1",
        "line 3: body must be a JSON object",
        "line 4: colour: unknown field",
        "line 5: to: Orange SMS does not serve this number's country (FR)",
        "line 6: id 'ok-1' is already on line 1 (the gateway sends it once)",
        f"line 7: {len(line(id='big', text='x' * 1000))} bytes, over the send queue's {MAX}",
    ]
    assert "nothing was queued" in str(refused.value)


def test_other_channels_are_read_with_the_same_model() -> None:
    lines = [
        json.dumps({"channel": "orange-pl-mms", "providerMessageId": "b413dd22"}),
        json.dumps({"channel": "mms", "to": "+12125550123"}),
    ]

    with pytest.raises(RequestsRefused) as refused:
        read_requests(lines, max_body_bytes=MAX)

    assert [str(problem) for problem in refused.value.problems] == [
        "line 2: request: an MMS needs a text or at least one attachment"
    ]


def test_an_empty_file_has_nothing_to_queue() -> None:
    assert read_requests(["", "\n"], max_body_bytes=MAX) == []


def mms_line(**fields: Any) -> str:
    return json.dumps({"channel": "mms", "to": "+12125550123", "text": "hi", **fields})


PL_MMS = json.dumps({"channel": "orange-pl-mms", "providerMessageId": "b413dd22"})


def model_reason(**fields: Any) -> str:
    """What the gateway's model says of an SMS with these fields."""
    with pytest.raises(InvalidRequest) as refused:
        parse_send_request(line(**fields))
    return str(refused.value)


def test_only_the_defaults_given_are_set() -> None:
    assert scheduling_defaults() == {}
    assert scheduling_defaults(priority="high", campaign="c1") == {
        "priority": "high",
        "campaign": "c1",
    }
    assert DEFAULTS == {"priority": "bulk", "validFor": 600, "sendAt": TOMORROW, "campaign": "c1"}


def test_the_defaults_fill_what_a_line_does_not_set_and_the_body_queued_has_them() -> None:
    lines = [line(id="bare"), line(id="own", priority="high", campaign="own-1"), mms_line(id="m")]

    requests = read_requests(lines, max_body_bytes=MAX, defaults=DEFAULTS)

    bodies = [json.loads(r.body) for r in requests]
    assert bodies[0] == {**json.loads(lines[0]), **DEFAULTS}
    # The line's own value wins; the defaults fill only the rest.
    assert bodies[1] == {**json.loads(lines[1]), "validFor": 600, "sendAt": TOMORROW}
    assert bodies[2] == {**json.loads(lines[2]), **DEFAULTS}
    # What was checked is what goes on the queue: each body read again is the same request.
    assert [parse_send_request(r.body) for r in requests] == [r.request for r in requests]
    bare, own, mms = (r.request for r in requests)
    assert isinstance(bare, SmsRequest)
    assert (bare.priority, bare.valid_for, bare.send_at, bare.campaign) == (
        "bulk",
        600,
        TOMORROW,
        "c1",
    )
    assert isinstance(own, SmsRequest)
    assert (own.priority, own.campaign, own.valid_for) == ("high", "own-1", 600)
    assert isinstance(mms, MmsRequest)
    assert (mms.priority, mms.campaign) == ("bulk", "c1")


def test_orange_pl_mms_lines_and_lines_setting_everything_stay_as_written() -> None:
    own = line(priority="high", validFor=60, sendAt=TOMORROW, campaign="own")

    requests = read_requests([PL_MMS, own], max_body_bytes=MAX, defaults=DEFAULTS)

    assert [r.body for r in requests] == [PL_MMS, own]


def test_the_size_limit_counts_the_defaults_merged_in() -> None:
    body = line(text="x" * 100)

    with pytest.raises(RequestsRefused) as refused:
        read_requests([body], max_body_bytes=len(body) + 5, defaults=DEFAULTS)

    merged = len(json.dumps({**json.loads(body), **DEFAULTS}))
    assert [str(p) for p in refused.value.problems] == [
        f"line 1: {merged} bytes, over the send queue's {len(body) + 5}"
    ]


@pytest.mark.parametrize(
    "defaults",
    [
        {"send_at": "tomorrow at nine"},
        {"send_at": "2026-12-24T09:00:00"},  # no offset
        {"send_at": utc_text(datetime.now(UTC) + timedelta(days=31))},
        {"valid_for": 0},
        {"valid_for": 259_201},
        {"campaign": "spring sale!"},
        {"priority": "urgent"},  # argparse refuses it first; the model too
    ],
)
def test_a_bad_default_refuses_every_line_taking_it_with_the_models_reason(
    defaults: dict[str, Any],
) -> None:
    given = scheduling_defaults(**defaults)
    reason = model_reason(**given)
    lines = [line(id="a"), mms_line(id="b"), PL_MMS, line(id="c")]

    with pytest.raises(RequestsRefused) as refused:
        read_requests(lines, max_body_bytes=MAX, defaults=given)

    assert [str(p) for p in refused.value.problems] == [
        f"line 1: {reason}",
        f"line 2: {reason}",  # the MMS too; the orange-pl-mms line does not take it
        f"line 4: {reason}",
    ]


def test_a_bad_default_no_line_takes_is_refused_all_the_same() -> None:
    with pytest.raises(DefaultsRefused) as refused:
        read_requests(
            [PL_MMS, line(campaign="own")], max_body_bytes=MAX, defaults={"campaign": "a b"}
        )

    reason = model_reason(campaign="a b")
    assert str(refused.value) == f"{reason} (given on the command line): nothing was queued"


class FakeGateway:
    """The gateway as `cgw` sees it: what it queued, the status it answers."""

    def __init__(self, view: dict[str, Any] | None = None) -> None:
        self.view = view
        self.queued: list[str] = []
        self.endpoints = Endpoints(api_url="http://gateway.invalid", send_queue_url="q", region="x")

    def __call__(self, endpoints: object) -> "FakeGateway":  # stands for GatewayClient(...)
        return self

    def send(self, requests: list[dict[str, Any]]) -> int:
        self.queued += [json.dumps(request) for request in requests]
        return len(requests)

    def queue_state(self) -> QueueState:
        return QueueState(waiting=0, in_flight=0, max_message_bytes=MAX)

    def queue(self, bodies: Sequence[str], **kwargs: Any) -> QueueResult:
        self.queued += bodies
        return QueueResult(len(bodies), [])

    def status(self, message_id: str) -> dict[str, Any] | None:
        return self.view


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(cli, "GatewayClient", fake)
    monkeypatch.setattr(cli, "_endpoints", lambda args: fake.endpoints)
    return fake


def run_cgw(*argv: str) -> int:
    return cli.main(list(argv))


def test_an_unknown_priority_is_a_usage_error(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run_cgw("send", "--priority", "urgent", line())

    assert exited.value.code == 2
    assert "argument --priority: invalid choice: 'urgent'" in capsys.readouterr().err
    assert gateway.queued == []


def test_an_inline_request_takes_the_defaults_it_does_not_set(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cgw(
        "--json", "send", "--priority", "bulk", "--campaign", "c1", line(priority="high")
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"queued": 1, "ids": [None]}
    assert [json.loads(body) for body in gateway.queued] == [
        {**json.loads(line()), "priority": "high", "campaign": "c1"}
    ]


def test_a_bad_send_at_queues_nothing_inline_or_from_a_file(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = model_reason(sendAt="tomorrow")
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text(line(id="a") + "\n" + line(id="b") + "\n")

    assert run_cgw("send", "--send-at", "tomorrow", line()) == 2
    assert capsys.readouterr().err == (
        f"refused: {reason} (given on the command line): nothing was queued\n"
    )
    assert run_cgw("--json", "send", "--send-at", "tomorrow", str(requests_file)) == 2
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "queued": 0,
        "refused": [{"line": 1, "reason": reason}, {"line": 2, "reason": reason}],
    }
    assert gateway.queued == []


def test_a_file_is_queued_with_the_defaults_merged_in(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text("\n".join([line(id="a"), line(id="b", priority="high"), PL_MMS]))

    assert run_cgw("send", "--priority", "bulk", "--valid-for", "600", str(requests_file)) == 0

    assert [json.loads(body).get("priority") for body in gateway.queued] == ["bulk", "high", None]
    assert [json.loads(body).get("validFor") for body in gateway.queued] == [600, 600, None]
    assert gateway.queued[2] == PL_MMS


def status_view(**fields: Any) -> dict[str, Any]:
    return {
        "id": "hello-1",
        "channel": "sms",
        "to": "+2250700000001",
        "status": "accepted",
        "history": [{"at": "2026-12-03T10:00:00.000Z", "status": "accepted", "source": "api"}],
        **fields,
    }


def test_status_shows_priority_campaign_send_at_and_expiry_when_present(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.view = status_view(
        priority="bulk",
        campaign="spring:sale",
        sendAt="2026-12-24T09:00:00.000Z",
        expiresAt="2026-12-24T10:00:00.000Z",
    )

    assert run_cgw("status", "hello-1") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [
        "hello-1 sms to +2250700000001: accepted",
        "  priority: bulk",
        "  campaign: spring:sale",  # as written: not read as an emoji code or markup
        "  send at: 2026-12-24T09:00:00.000Z",
        "  expires at: 2026-12-24T10:00:00.000Z",
    ]


def test_status_shows_only_the_scheduling_a_message_has(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.view = status_view(priority="normal")

    assert run_cgw("status", "hello-1") == 0
    output = capsys.readouterr().out
    assert "  priority: normal" in output
    assert "campaign" not in output
    assert "send at" not in output
    assert "expires at" not in output

    gateway.view = status_view(channel="orange-pl-mms")  # no priority: not an SMS or MMS
    assert run_cgw("status", "hello-1") == 0
    assert "priority" not in capsys.readouterr().out


def test_status_json_is_the_view_as_is(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.view = status_view(priority="high", campaign="c1")

    assert run_cgw("--json", "status", "hello-1") == 0

    assert json.loads(capsys.readouterr().out) == gateway.view


def test_a_bad_default_no_line_takes_refuses_the_file_all_the_same(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text(PL_MMS + "\n" + line(campaign="own"))

    assert run_cgw("--json", "send", "--campaign", "a b", str(requests_file)) == 2

    reason = model_reason(campaign="a b")
    error = f"{reason} (given on the command line): nothing was queued"
    assert json.loads(capsys.readouterr().out) == {"queued": 0, "error": error}
    assert gateway.queued == []


def test_a_merged_line_keeps_its_characters_as_written() -> None:
    lines = [line(id="fr", text="Bonjour, ça va ?"), line(id="odd", metadata={"k": "\ud800"})]

    requests = read_requests(lines, max_body_bytes=MAX, defaults={"campaign": "c1"})

    assert "ça va" in requests[0].body
    # A lone surrogate stays escaped, as the line wrote it: the body is still text.
    assert json.loads(requests[1].body)["metadata"] == {"k": "\ud800"}
    assert requests[1].body.isascii()


# \u2019: the apostrophe French typography uses.
FRENCH = (
    "Noël à l\u2019hôtel : garçon, crème brûlée, œufs « maison » à 5 €… Où ça ? Ça va, Élodie !"
)
# Two SMS in UCS-2 (2 segments each, 1 each transliterated); the rest GSM-7, or not SMS.
UCS2_FILE = [
    line(id="fr", text=FRENCH),
    line(id="cedillas", text="ç" * 71),
    line(id="plain", text="Déjà payé"),  # é and à are GSM-7
    line(id="asked", text=FRENCH, transliterate=True),
    mms_line(id="mms", text=FRENCH),
]


def test_the_sms_sent_in_ucs2_are_counted_with_their_segments() -> None:
    requests = [r.request for r in read_requests(UCS2_FILE, max_body_bytes=MAX)]

    assert ucs2_cost(requests) == Ucs2Cost(messages=2, segments=4, transliterated_segments=2)
    assert ucs2_cost(requests[2:]) == Ucs2Cost(0, 0, 0)


def test_sending_a_file_warns_of_its_ucs2_sms(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text("\n".join(UCS2_FILE))

    assert run_cgw("send", str(requests_file)) == 0
    assert (
        "UCS-2: 2 SMS have a character GSM-7 lacks (70 characters an SMS, not 160): 4 segments,"
        ' 2 with "transliterate": true'
    ) in " ".join(capsys.readouterr().out.split())

    assert run_cgw("--json", "send", str(requests_file)) == 0
    assert json.loads(capsys.readouterr().out)["ucs2"] == {
        "messages": 2,
        "segments": 4,
        "transliterated_segments": 2,
    }


def test_a_file_all_in_gsm7_has_no_warning(
    gateway: FakeGateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_file = tmp_path / "requests.jsonl"
    requests_file.write_text("\n".join(UCS2_FILE[2:]))

    assert run_cgw("send", str(requests_file)) == 0
    assert "UCS-2" not in capsys.readouterr().out


def test_status_shows_an_sms_segments_and_encoding(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.view = status_view(segments=2, encoding="UCS-2")

    assert run_cgw("status", "hello-1") == 0

    assert "  segments: 2 (UCS-2)" in capsys.readouterr().out.splitlines()
