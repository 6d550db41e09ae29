"""`cgw watch FILE | --campaign NAME | ID...`: follow messages through the status API until
each is settled, or the timeout: live counts per status and a progress bar, then a summary and
an exit code (0 every message delivered, 1 all settled but some not, 2 timed out).

Settled, for a watch, is a final status or `undelivered` or `unknown`: a late receipt may
still move those two, but the gateway waits for nothing more (the carrier said it cannot
deliver, or the gateway gave up on the outcome), and a watch held until the 72-hour sweep
would tell nothing more. An id the gateway does not know (404) is `missing`: not settled,
and listed.

A send file is read as `cgw send` reads it: the ids its requests name are watched. A request
without an id got `sqs-{SQS message id}` from the gateway, and `cgw send` keeps no SQS ids, so
it cannot be found again: such requests are counted and left out.
"""

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cgw.endpoints import Endpoints
from cgw.gateway_client import SQS_MAX_BATCH_BYTES, GatewayClient, GatewayError
from cgw.send_file import RequestsRefused, read_requests
from gateway.aws.message_store import MessageRepository
from gateway.core.send_request import ID_PATTERN
from gateway.core.status import FINAL, Status

SETTLED: frozenset[str] = frozenset(FINAL | {Status.UNDELIVERED, Status.UNKNOWN})
MISSING = "missing"  # the gateway does not know the id (404)
UNREAD = "unread"  # no answer from the status API yet
# Status reads at once: well inside the API's 100 requests a second (burst 200).
WORKERS = 8
LISTED = 20  # not-delivered messages the summary table shows
EXIT_DELIVERED, EXIT_NOT_DELIVERED, EXIT_TIMEOUT = 0, 1, 2
EXIT_USAGE = 2  # as argparse's own usage errors
_ID = re.compile(ID_PATTERN)
# `--json` after the command too (`cgw watch --json`); SUPPRESS: absent, it leaves the global
# option's value alone.
JSON_OPTION: dict[str, Any] = {
    "action": "store_true",
    "default": argparse.SUPPRESS,
    "help": "machine-readable output (as cgw --json)",
}

type Read = Callable[[str], dict[str, Any] | None]
type Resolve = Callable[[argparse.Namespace], Endpoints]


@dataclass(frozen=True, slots=True)
class Seen:
    status: str  # a Status, MISSING or UNREAD
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Round:
    """What one poll round saw: every message's latest status."""

    number: int
    elapsed: float
    seen: Mapping[str, Seen]
    errors: int  # reads that failed this round: tried again the next

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(s.status for s in self.seen.values()).items()))

    @property
    def settled(self) -> int:
        return sum(s.status in SETTLED for s in self.seen.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "event": "round",
            "round": self.number,
            "elapsed": round(self.elapsed, 1),
            "settled": self.settled,
            "total": len(self.seen),
            "errors": self.errors,
            "counts": self.counts,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    last: Round
    timed_out: bool

    @property
    def not_delivered(self) -> list[tuple[str, Seen]]:
        return [(i, s) for i, s in self.last.seen.items() if s.status != Status.DELIVERED]

    @property
    def exit_code(self) -> int:
        if self.timed_out:
            return EXIT_TIMEOUT
        return EXIT_NOT_DELIVERED if self.not_delivered else EXIT_DELIVERED

    def as_json(self) -> dict[str, Any]:
        return {
            **self.last.as_json(),
            "event": "summary",
            "timedOut": self.timed_out,
            "exitCode": self.exit_code,
            "notDelivered": [
                {"id": i, "status": s.status, "reason": s.reason} for i, s in self.not_delivered
            ],
        }

    def show(self, console: Console) -> None:
        counts = Table(title="messages by status")
        counts.add_column("status")
        counts.add_column("messages", justify="right")
        for status, count in self.last.counts.items():
            counts.add_row(status, str(count))
        console.print(counts)
        missed = self.not_delivered
        if missed:
            listed = Table(title=f"not delivered ({len(missed)})")
            for column in ("id", "status", "reason"):
                listed.add_column(column)
            for message_id, seen in missed[:LISTED]:
                listed.add_row(Text(message_id), seen.status, Text(seen.reason or ""))
            console.print(listed)
            if len(missed) > LISTED:
                console.print(f"… and {len(missed) - LISTED} more (--json lists them all)")
        total = len(self.last.seen)
        if self.timed_out:
            console.print(f"[red]timed out:[/] {total - self.last.settled} of {total} not settled")
        elif missed:
            console.print(f"[yellow]{len(missed)} of {total} not delivered[/]")
        else:
            console.print(f"[green]all {total} delivered[/]")


class Watch:
    def __init__(
        self,
        ids: Sequence[str],
        read: Read,
        *,
        interval: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._ids = list(dict.fromkeys(ids))  # each once, in the order given
        self._read = read
        self._interval = interval
        self._timeout = timeout
        self._clock = clock
        self._sleep = sleep

    def run(self, on_round: Callable[[Round], None]) -> Summary:
        """Poll the messages not settled every `interval` seconds until all are, or the
        timeout; `on_round` after each round."""
        seen = dict.fromkeys(self._ids, Seen(UNREAD))
        start = self._clock()
        number = 0
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="watch") as pool:
            while True:
                number += 1
                pending = [i for i, s in seen.items() if s.status not in SETTLED]
                answers = dict(zip(pending, pool.map(self._seen, pending), strict=True))
                seen.update({i: s for i, s in answers.items() if s is not None})
                now = self._clock()
                errors = sum(s is None for s in answers.values())
                current = Round(number, now - start, dict(seen), errors)
                on_round(current)
                if current.settled == len(seen):
                    return Summary(current, timed_out=False)
                if now - start >= self._timeout:
                    return Summary(current, timed_out=True)
                self._sleep(min(self._interval, start + self._timeout - now))

    def _seen(self, message_id: str) -> Seen | None:
        """The message's status; None when the read failed (the API throttling, a network
        error): an hour's watch does not end on one lost answer."""
        try:
            view = self._read(message_id)
        except (GatewayError, OSError):
            return None
        if view is None:
            return Seen(MISSING, "no message with this id")
        return Seen(str(view["status"]), view.get("reason"))


def follow(
    ids: Sequence[str],
    read: Read,
    *,
    console: Console,
    as_json: bool = False,
    interval: float = 2.0,
    timeout: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Watch `ids` to the end, shown live (or as JSON lines), then the summary; the exit code."""
    watch = Watch(ids, read, interval=interval, timeout=timeout, clock=clock, sleep=sleep)
    if as_json:
        summary = watch.run(lambda current: print(json.dumps(current.as_json()), flush=True))
        print(json.dumps(summary.as_json()))
        return summary.exit_code
    with _progress(console) as progress:
        task = progress.add_task("settled", total=len(set(ids)), counts="")
        summary = watch.run(
            lambda current: progress.update(
                task, completed=current.settled, counts=_counts_text(current)
            )
        )
    summary.show(console)
    return summary.exit_code


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}", markup=False),
        console=console,
    )


def _counts_text(current: Round) -> str:
    failed = f"  ({current.errors} reads failed, tried again)" if current.errors else ""
    return "  ".join(f"{status} {n}" for status, n in current.counts.items()) + failed


def file_ids(text: str) -> tuple[list[str], int]:
    """The ids a send file's requests name, read as `cgw send` reads the file, and how many
    requests name none."""
    requests = read_requests(text.splitlines(), max_body_bytes=SQS_MAX_BATCH_BYTES)
    ids = [r.request.id for r in requests if r.request.id is not None]
    return ids, len(requests) - len(ids)


def message_store(endpoints: Endpoints, connections: int = 10) -> MessageRepository:
    """The stack's messages table, as `cgw cancel --campaign` reads it (its campaign index)."""
    return MessageRepository(endpoints.table_name, client=endpoints.dynamodb(connections))


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", resolve: Resolve
) -> None:
    parser = commands.add_parser(
        "watch",
        help="follow messages until each is settled",
        description="Follow messages through the status API until each is settled (a final "
        "status, undelivered or unknown) or --timeout: counts per status and a progress bar, "
        "then the counts and the messages not delivered. FILE (or - for stdin) is a send "
        "file as cgw send takes it: the ids its requests name. Exit 0 when every message was "
        "delivered, 1 when all settled but some not delivered, 2 on timeout (an id the "
        "gateway does not know is missing, never settled). With --json: a JSON object per "
        "poll round, then the summary's.",
    )
    parser.add_argument("targets", nargs="*", metavar="FILE|ID")
    parser.add_argument("--json", **JSON_OPTION)
    parser.add_argument("--campaign", metavar="NAME", help="every message of this campaign")
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="between polls (2)"
    )
    parser.add_argument(
        "--timeout", type=float, default=3600.0, metavar="SECONDS", help="gives up (3600)"
    )
    parser.set_defaults(run=partial(_run, resolve))


def _run(resolve: Resolve, args: argparse.Namespace, console: Console) -> int:
    if bool(args.targets) == bool(args.campaign):
        Console(stderr=True).print("give a send file, message ids or --campaign NAME (one of them)")
        return EXIT_USAGE
    endpoints = resolve(args)
    ids = _ids(args.targets, args.campaign, endpoints)
    if not ids:
        raise ValueError("no message to watch")
    read = GatewayClient(endpoints).status
    return follow(
        ids,
        read,
        console=console,
        as_json=args.json,
        interval=args.interval,
        timeout=args.timeout,
    )


def _ids(targets: Sequence[str], campaign: str | None, endpoints: Endpoints) -> list[str]:
    if campaign:
        return list(message_store(endpoints).message_ids(campaign))
    [first, *rest] = targets
    if rest or not _names_a_file(first):
        return list(targets)
    text = sys.stdin.read() if first == "-" else Path(first).read_text()
    try:
        ids, unnamed = file_ids(text)
    except RequestsRefused as refused:
        raise ValueError(f"{first}: no send file cgw send takes: {refused.problems[0]}") from None
    if unnamed:
        Console(stderr=True).print(
            f"{unnamed} request(s) without an id not watched: the gateway named them from "
            "their SQS message ids, which cgw send does not keep"
        )
    return ids


def _names_a_file(target: str) -> bool:
    """One argument is a send file when it is -, an existing file, or no message id could
    be it (a path)."""
    return target == "-" or Path(target).is_file() or not _ID.match(target)
