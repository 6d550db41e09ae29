"""`cgw send FILE`: the file read with the gateway's own model, refused whole on a bad line."""

import json
from typing import Any

import pytest

from cgw.send_file import RequestsRefused, read_requests

MAX = 1024


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
