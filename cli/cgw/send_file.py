"""A JSON-lines file of send requests, checked line by line before anything is queued.

Each line is read with the gateway's own send-request model (and, for an SMS, Orange's
country table), so a line the sender would refuse is caught here with its line number. One
bad line refuses the whole file before any of it is queued, so that the fixed file, sent
again, queues each request once.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.core.send_request import InvalidRequest, SendRequest, SmsRequest, parse_send_request
from gateway.orange.countries import orange_country


@dataclass(frozen=True, slots=True)
class FileRequest:
    line: int  # 1-based, as an editor shows it
    body: str  # the line as written: what goes on the queue
    request: SendRequest


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class RequestsRefused(ValueError):
    """Some lines cannot be sent; `problems` has each, in file order."""

    def __init__(self, problems: list[BadLine]) -> None:
        super().__init__(f"{len(problems)} bad line(s): the file was refused, nothing was queued")
        self.problems = problems


def read_requests(lines: Iterable[str], *, max_body_bytes: int) -> list[FileRequest]:
    """Every request of the file, in order (blank lines skipped); RequestsRefused when any
    line is not a request the gateway would send, or does not fit in a queue message."""
    requests: list[FileRequest] = []
    problems: list[BadLine] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        body = line.strip()
        if not body:
            continue
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
    return requests


def _check(body: str, max_body_bytes: int) -> SendRequest:
    size = len(body.encode())
    if size > max_body_bytes:
        raise InvalidRequest(f"{size} bytes, over the send queue's {max_body_bytes}")
    request = parse_send_request(body)
    if isinstance(request, SmsRequest):
        orange_country(request.to)
    return request
