"""A JSON-lines file of send requests, checked line by line before anything is queued.

Each line is read with the gateway's own send-request model (and, for an SMS, Orange's
country table), so a line the sender would refuse is caught here with its line number. One
bad line refuses the whole file before any of it is queued, so that the fixed file, sent
again, queues each request once.

Defaults given on the command line (`--priority`, `--valid-for`, `--send-at`, `--campaign`)
are merged into each SMS and MMS line that does not set the field itself before the line is
checked: what is checked is what goes on the queue.

An SMS with a character GSM-7 lacks goes out in UCS-2, 70 characters a segment rather than
160: `ucs2_cost` says how many of the file's SMS do, and what that costs.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.core.segments import count_segments, is_gsm7, to_gsm7
from gateway.core.send_request import InvalidRequest, SendRequest, SmsRequest, parse_send_request
from gateway.orange.countries import orange_country

# The channels whose requests are scheduled (priority, validFor, sendAt, campaign); an
# orange-pl-mms request refuses these fields.
SCHEDULED_CHANNELS = ("sms", "mms")
# A number only there to check the defaults alone with the model (any known country).
_PROBE_NUMBER = "+2250700000001"


@dataclass(frozen=True, slots=True)
class FileRequest:
    line: int  # 1-based, as an editor shows it
    body: str  # the line as written, with the defaults merged in: what goes on the queue
    request: SendRequest


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Ucs2Cost:
    """SMS sent in UCS-2, the segments they take, and those they would take with
    `"transliterate": true` (every character in its closest GSM-7 form)."""

    messages: int
    segments: int
    transliterated_segments: int


def ucs2_cost(requests: Iterable[SendRequest]) -> Ucs2Cost:
    texts = [r.text for r in requests if isinstance(r, SmsRequest) and not is_gsm7(r.text)]
    return Ucs2Cost(
        messages=len(texts),
        segments=sum(count_segments(text) for text in texts),
        transliterated_segments=sum(count_segments(to_gsm7(text)) for text in texts),
    )


class RequestsRefused(ValueError):
    """Some lines cannot be sent; `problems` has each, in file order."""

    def __init__(self, problems: list[BadLine]) -> None:
        super().__init__(f"{len(problems)} bad line(s): the file was refused, nothing was queued")
        self.problems = problems


class DefaultsRefused(ValueError):
    """The defaults given are not values the gateway accepts (whichever line takes them)."""


def scheduling_defaults(
    *,
    priority: str | None = None,
    valid_for: int | None = None,
    send_at: str | None = None,
    campaign: str | None = None,
) -> dict[str, Any]:
    """The request fields the command line sets for lines that do not, as the JSON names
    them; only those given."""
    fields = {"priority": priority, "validFor": valid_for, "sendAt": send_at, "campaign": campaign}
    return {name: value for name, value in fields.items() if value is not None}


def with_defaults(body: str, defaults: Mapping[str, Any]) -> str:
    """`body` with each default it does not set itself, when it is an SMS or MMS request;
    as written otherwise (another channel, or not a JSON object: the model says why)."""
    payload = _json_object(body) if defaults else None
    if payload is None or payload.get("channel") not in SCHEDULED_CHANNELS:
        return body
    missing = {name: value for name, value in defaults.items() if name not in payload}
    if not missing:
        return body
    merged = {**payload, **missing}
    try:
        text = json.dumps(merged, ensure_ascii=False)  # the line's own characters kept
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate, written escaped in the line
        return json.dumps(merged)
    except (ValueError, RecursionError):
        return body
    return text


def _json_object(body: str) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def check_defaults(defaults: Mapping[str, Any]) -> None:
    """DefaultsRefused, with the model's reason, when the defaults are not valid for any
    SMS or MMS (a line taking them would be refused with the same reason)."""
    if not defaults:
        return
    probe = {"channel": "sms", "to": _PROBE_NUMBER, "text": "x", **defaults}
    try:
        parse_send_request(json.dumps(probe))
    except InvalidRequest as exc:
        raise DefaultsRefused(f"{exc} (given on the command line): nothing was queued") from exc


def read_requests(
    lines: Iterable[str], *, max_body_bytes: int, defaults: Mapping[str, Any] | None = None
) -> list[FileRequest]:
    """Every request of the file, in order (blank lines skipped), each SMS and MMS with the
    `defaults` it does not set itself; RequestsRefused when any line is not a request the
    gateway would send, or does not fit in a queue message; DefaultsRefused when the lines
    are fine but a default no line took is not a value the gateway accepts."""
    requests: list[FileRequest] = []
    problems: list[BadLine] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        body = line.strip()
        if not body:
            continue
        body = with_defaults(body, defaults or {})
        try:
            request = _check(body, max_body_bytes)
        except InvalidRequest as exc:
            problems.append(BadLine(number, str(exc)))
            continue
        if request.id is not None and request.id in first_line_of:
            first = first_line_of[request.id]
            reason = f"id {request.id!r} is already on line {first} (the gateway sends it once)"
            problems.append(BadLine(number, reason))
            continue
        if request.id is not None:
            first_line_of[request.id] = number
        requests.append(FileRequest(number, body, request))
    if problems:
        raise RequestsRefused(problems)
    check_defaults(defaults or {})
    return requests


def _check(body: str, max_body_bytes: int) -> SendRequest:
    size = len(body.encode())
    if size > max_body_bytes:
        raise InvalidRequest(f"{size} bytes, over the send queue's {max_body_bytes}")
    request = parse_send_request(body)
    if isinstance(request, SmsRequest):
        orange_country(request.to)
    return request
