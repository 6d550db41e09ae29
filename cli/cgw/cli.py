"""cgw: operate the carrier gateway from a terminal.

  cgw local                 run the whole gateway on this machine (Ctrl-C stops it)
  cgw demo                  start a local stack, send the demo messages, follow them
  cgw send FILE|-|JSON      queue one send request, or a JSON-lines file of them
  cgw status ID             one message's state and history
  cgw messages [--to N] [--campaign C] [--status S,...] [--since T] [--until T] [--all]
                            search messages, newest first: a table, or JSON lines
  cgw watch FILE|ID...|--campaign NAME
                            follow messages until each is settled: counts, a progress bar,
                            exit 0 all delivered, 1 some not, 2 timed out
  cgw resend ID...|--campaign NAME [--status unknown,failed,expired]
                            queue a new message ({id}.r{n}, resendOf) for each not delivered
  cgw balance [--purchases] the latest Orange balance per account, country and offer
                            (and the bundles bought)
  cgw orange-subscription create|show|delete
                            the Orange receipt subscription, by hand

Endpoints come from a deployed stack's outputs (--stack NAME) or from the running local
stack's .local/endpoints.json.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cgw import messages, orange_subscription, resend, watch
from cgw.cancel import cancel_campaign
from cgw.endpoints import (
    DEFAULT_LOCAL_DIR,
    SENDER_FUNCTION,
    Endpoints,
    EndpointsNotFound,
    from_local,
    from_stack,
)
from cgw.eta import AccountEta, estimate, human_duration
from cgw.gateway_client import GatewayClient, GatewayError
from cgw.send_file import (
    DefaultsRefused,
    RequestsRefused,
    Ucs2Cost,
    check_defaults,
    read_requests,
    scheduling_defaults,
    ucs2_cost,
    with_defaults,
)
from gateway.aws.balance_store import BalanceRepository
from gateway.core.carrier_errors import CarrierError
from gateway.core.send_request import PRIORITIES, VALID_FOR_MAX_SECONDS
from gateway.orange.config import OrangeConfig
from infra.local.arguments import add_stack_arguments, credentials_from

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A log (CI) is read later and wider than a terminal: do not wrap the tables at 80 columns.
    console = Console() if Console().is_terminal else Console(width=160)
    try:
        code: int = args.run(args, console)
    except (
        EndpointsNotFound,
        GatewayError,
        CarrierError,
        ClientError,
        ValueError,
        OSError,
    ) as exc:
        # As text: a reason may hold brackets or colons rich would read as markup or emoji.
        Console(stderr=True).print(Text.assemble(("error:", "red"), f" {exc}"))
        return EXIT_FAILED
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cgw", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    parser.add_argument("--region", help="the deployed stack's region")
    parser.add_argument(
        "--local-dir", type=Path, default=DEFAULT_LOCAL_DIR, help="the local stack's state folder"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    local = commands.add_parser("local", help="run the whole gateway on this machine")
    local.add_argument("--api-port", type=int, default=3000)
    local.add_argument("--aws-port", type=int, default=5000)
    add_stack_arguments(local)
    local.set_defaults(run=_local)

    demo = commands.add_parser("demo", help="the gateway end to end on a fresh local stack")
    demo.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the end")
    demo.set_defaults(run=_demo)

    send = commands.add_parser(
        "send",
        help="queue send requests",
        description="Queue one JSON send request, or a JSON-lines file of them (- for stdin). "
        "A file is checked whole first (a bad line refuses it: exit 2, nothing queued), then "
        "queued with a progress bar, and the ETA of its SMS at each Orange account's rate is "
        "shown per priority. Exit 1 if SQS refused some of them. The options below apply to "
        "each sms and mms request that does not set the field itself (a request's own value "
        "wins; orange-pl-mms requests are left as they are); a value the gateway would refuse "
        "refuses the requests before anything is queued (exit 2).",
    )
    send.add_argument("source", help="a JSON request, a JSON-lines file, or - for stdin")
    send.add_argument(
        "--priority",
        choices=PRIORITIES,
        help="the request's priority: within an Orange account high takes the next rate slot "
        "before normal, and normal before bulk (the gateway's default: normal)",
    )
    send.add_argument(
        "--valid-for",
        type=int,
        metavar="SECONDS",
        help=f"validFor: seconds from queueing after which an unsent message ends expired "
        f"(1-{VALID_FOR_MAX_SECONDS})",
    )
    send.add_argument(
        "--send-at",
        metavar="RFC3339",
        help="sendAt: not sent before this moment, RFC 3339 with an offset "
        "(2026-12-24T09:00:00Z), at most 30 days ahead",
    )
    send.add_argument("--campaign", metavar="NAME", help="campaign: 1-64 of A-Z a-z 0-9 . _ : -")
    send.set_defaults(run=_send)

    balance = commands.add_parser("balance", help="the latest Orange balance snapshot")
    balance.add_argument(
        "--account", action="append", help="an Orange account (repeatable; default: default)"
    )
    balance.add_argument(
        "--purchases",
        action="store_true",
        help="also the bundles bought: date, bundle, price and currency",
    )
    balance.set_defaults(run=_balance)

    status = commands.add_parser("status", help="one message's state and history")
    status.add_argument("id")
    status.set_defaults(run=_status)

    cancel = commands.add_parser(
        "cancel",
        help="cancel messages not yet handed to the carrier",
        description="Cancel messages by id (through the API's DELETE /messages/{id}), or a "
        "whole campaign: every message of it still waiting ends cancelled, one queued or "
        "claimed from now on too, and the command returns once none of them can still be sent. "
        "Exit 1 when some could not be cancelled (already sent, unknown, still in flight).",
    )
    cancel.add_argument("ids", nargs="*", metavar="ID")
    cancel.add_argument("--campaign", help="cancel every message of this campaign")
    cancel.set_defaults(run=_cancel)

    orange_subscription.add_parser(commands, _endpoints)
    messages.add_parser(commands, _endpoints)
    watch.add_parser(commands, _endpoints)
    resend.add_parser(commands, _endpoints)
    return parser


def _endpoints(args: argparse.Namespace) -> Endpoints:
    if args.stack:
        return from_stack(args.stack, args.region)
    return from_local(args.local_dir)


def _local(args: argparse.Namespace, console: Console) -> int:
    # The local stack's tooling (moto and all) loads only for the commands that run it.
    from infra.local.__main__ import serve  # noqa: PLC0415
    from infra.local.stack import LocalStackOptions  # noqa: PLC0415

    return serve(
        LocalStackOptions(
            state_dir=args.local_dir,
            api_port=args.api_port,
            aws_port=args.aws_port,
            parameter_overrides=dict(args.parameter_overrides),
            orange_credentials=credentials_from(args),
        )
    )


def _demo(args: argparse.Namespace, console: Console) -> int:
    from cgw.demo import demo_stack_options, run_demo_on  # noqa: PLC0415 - see _local
    from infra.local.stack import LocalStack  # noqa: PLC0415

    console.print("starting the local stack (moto, carrier simulators, functions)…")
    with LocalStack(demo_stack_options(args.local_dir / "demo")) as stack:
        ok = run_demo_on(stack, console, timeout=args.timeout)
    return EXIT_OK if ok else EXIT_FAILED


def _send(args: argparse.Namespace, console: Console) -> int:
    defaults = scheduling_defaults(
        priority=args.priority,
        valid_for=args.valid_for,
        send_at=args.send_at,
        campaign=args.campaign,
    )
    try:
        if args.source.lstrip().startswith("{"):
            return _send_one(args, console, defaults)
        return _send_file(args, console, defaults)
    except DefaultsRefused as refused:
        if args.json:
            print(json.dumps({"queued": 0, "error": str(refused)}))
        Console(stderr=True).print(
            Text.assemble(("refused:", "red"), f" {refused}"), soft_wrap=True
        )
        return EXIT_USAGE


def _send_one(args: argparse.Namespace, console: Console, defaults: dict[str, Any]) -> int:
    check_defaults(defaults)  # before anything is queued
    request = json.loads(with_defaults(args.source.strip(), defaults))
    if not isinstance(request, dict):
        raise ValueError("a send request is a JSON object")
    queued = GatewayClient(_endpoints(args)).send([request])
    if args.json:
        print(json.dumps({"queued": queued, "ids": [request.get("id")]}))
    else:
        console.print(f"queued {queued} send request(s)")
    return EXIT_OK


def _send_file(args: argparse.Namespace, console: Console, defaults: dict[str, Any]) -> int:
    text = sys.stdin.read() if args.source == "-" else Path(args.source).read_text()
    client = GatewayClient(_endpoints(args))
    state = client.queue_state()  # before queueing: what is ahead of this file
    try:
        requests = read_requests(
            text.splitlines(), max_body_bytes=state.max_message_bytes, defaults=defaults
        )
    except RequestsRefused as refused:
        if args.json:
            bad_lines = [{"line": p.line, "reason": p.reason} for p in refused.problems]
            print(json.dumps({"queued": 0, "refused": bad_lines}))
        errors = Console(stderr=True, highlight=False)
        for problem in refused.problems:
            errors.print(str(problem), markup=False)
        errors.print(f"[red]refused:[/] {refused}")
        return EXIT_USAGE
    config, eta_error = _sender_orange_config(client.endpoints)
    with _QueueProgress(console, total=len(requests), enabled=not args.json) as progress:
        result = client.queue(
            [r.body for r in requests],
            max_batch_bytes=state.max_message_bytes,
            progress=progress.advance,
        )
    failed = {f.index: f.reason for f in result.not_queued}
    queued = [r.request for i, r in enumerate(requests) if i not in failed]
    summary = _SendSummary(
        queued=result.queued,
        failures=[
            {"line": requests[i].line, "id": requests[i].request.id, "reason": reason}
            for i, reason in failed.items()
        ],
        ahead=state.ahead,
        etas=estimate(queued, config, ahead=state.ahead) if config else None,
        eta_error=eta_error,
        ucs2=ucs2_cost(queued),
    )
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        summary.show(console)
    return EXIT_FAILED if summary.failures else EXIT_OK


def _sender_orange_config(endpoints: Endpoints) -> tuple[OrangeConfig | None, str | None]:
    """The Orange accounts and rates the sender runs with, from its own environment (the
    deployed function's configuration, or the local stack's): the rates it enforces, not a
    copy. Queueing does not depend on it; without it there is no ETA, and the reason."""
    try:
        environment = endpoints.function_environment(SENDER_FUNCTION)
        return OrangeConfig.model_validate(environment), None
    except (EndpointsNotFound, ClientError, BotoCoreError, ValidationError) as exc:
        return None, f"the sender's rates could not be read: {exc}"


class _QueueProgress:
    """A progress bar while batches go to the queue (none for --json: stdout is the JSON)."""

    def __init__(self, console: Console, *, total: int, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
        )
        self._task = self._progress.add_task("queueing", total=total)

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def advance(self, settled: int) -> None:
        self._progress.advance(self._task, settled)


@dataclass(frozen=True, slots=True)
class _SendSummary:
    queued: int
    failures: list[dict[str, Any]]  # line, id, reason
    ahead: int  # requests on the queue before these
    # Per (account, priority); None: the sender's rates could not be read.
    etas: dict[tuple[str, str], AccountEta] | None
    eta_error: str | None
    ucs2: Ucs2Cost

    def as_json(self) -> dict[str, Any]:
        seconds: dict[str, dict[str, float]] | None = None
        if self.etas is not None:
            seconds = {}
            for eta in self.etas.values():
                seconds.setdefault(eta.account, {})[eta.priority] = round(eta.seconds, 1)
        return {
            "queued": self.queued,
            "failed": self.failures,
            "ahead": self.ahead,
            "eta_seconds": seconds,
            "eta_error": self.eta_error,
            "ucs2": asdict(self.ucs2),
        }

    def show(self, console: Console) -> None:
        console.print(
            f"queued {self.queued} send request(s); {self.ahead} already on the queue ahead"
        )
        for failure in self.failures:
            console.print(
                f"[red]not queued:[/] line {failure['line']} (id {failure['id']}): "
                f"{escape(failure['reason'])}"
            )
        if self.ucs2.messages:
            console.print(
                f"[yellow]UCS-2:[/] {self.ucs2.messages} SMS have a character GSM-7 lacks"
                f" (70 characters an SMS, not 160): {self.ucs2.segments} segments,"
                f' {self.ucs2.transliterated_segments} with "transliterate": true'
            )
        if self.etas is None:
            console.print(f"[yellow]no ETA:[/] {escape(self.eta_error or '')}")
        elif not self.etas:
            console.print("no SMS among them: nothing waits for an Orange rate")
        else:
            console.print(self._eta_table(self.etas))

    @staticmethod
    def _eta_table(etas: dict[tuple[str, str], AccountEta]) -> Table:
        table = Table(title="ETA to Orange at each account's rate, by priority")
        for column in ("account", "priority", "SMS", "rate slots", "rate", "ETA"):
            left = column in {"account", "priority"}
            table.add_column(column, justify="left" if left else "right")
        for eta in etas.values():
            table.add_row(
                eta.account,
                eta.priority,
                str(eta.sms),
                str(eta.slots),
                f"{eta.rate_per_second:g}/s",
                human_duration(eta.seconds),
            )
        return table


def _balance(args: argparse.Namespace, console: Console) -> int:
    endpoints = _endpoints(args)
    repository = BalanceRepository(endpoints.table_name, client=endpoints.dynamodb())
    accounts = args.account or ["default"]
    rows = [row for account in accounts for row in repository.latest(account)]
    if args.json:
        shown: Any = rows
        if args.purchases:
            shown = {"balances": rows, "purchases": _purchases(repository, accounts)}
        print(json.dumps(shown, indent=2))
        return EXIT_OK
    if not rows:
        console.print("no balance snapshot yet (the snapshot runs hourly)")
        return EXIT_FAILED
    table = Table(title="Orange SMS balance")
    columns = ("account", "country", "offer", "units", "status", "expires", "days left", "used")
    for column in (*columns, "at"):
        table.add_column(column)
    for row in sorted(rows, key=lambda r: (r["account"], r["country"], r.get("offer", ""))):
        table.add_row(
            row["account"],
            row["country"],
            row.get("offer") or "",
            str(row["units"]),
            row.get("status") or "",
            row.get("expires") or "",
            row.get("daysToExpiry") or "",
            str(row.get("used", "")),
            row["takenAt"],
        )
    console.print(table)
    if args.purchases:
        console.print(_purchases_table(_purchases(repository, accounts)))
    return EXIT_OK


def _purchases(repository: BalanceRepository, accounts: list[str]) -> list[dict[str, Any]]:
    return [order for account in accounts for order in repository.purchases(account)]


def _purchases_table(purchases: list[dict[str, Any]]) -> Table:
    table = Table(title="Orange SMS bundles bought")
    for column in ("account", "country", "offer", "date", "bundle", "price", "currency"):
        table.add_column(column, justify="right" if column == "price" else "left")
    for order in sorted(purchases, key=lambda p: (p["account"], p["purchaseDate"])):
        table.add_row(
            order["account"],
            order.get("country") or "",
            order.get("offer") or "",
            order["purchaseDate"],
            order.get("bundleDescription") or order.get("bundleId") or "",
            order.get("price") or "",
            order.get("currency") or "",
        )
    return table


# The status view's scheduling fields (and a resend's original), as `cgw status` labels them,
# when the message has them.
_SCHEDULING_FIELDS = (
    ("priority", "priority"),
    ("campaign", "campaign"),
    ("send at", "sendAt"),
    ("expires at", "expiresAt"),
    ("resend of", "resendOf"),
)


def _cancel(args: argparse.Namespace, console: Console) -> int:
    if bool(args.ids) == bool(args.campaign):
        Console(stderr=True).print("give message ids or --campaign NAME (one of them)")
        return EXIT_USAGE
    endpoints = _endpoints(args)
    if args.campaign:
        summary = cancel_campaign(endpoints, args.campaign)
        if args.json:
            print(json.dumps(asdict(summary)))
        else:
            console.print(
                f"campaign {escape(args.campaign)}: {summary.cancelled} cancelled; "
                f"already handed to the carrier or ended: {summary.too_late or 'none'}"
            )
            for message_id in summary.in_flight_left:
                console.print(f"[red]still being sent:[/] {escape(message_id)}")
        return EXIT_FAILED if summary.in_flight_left else EXIT_OK
    client = GatewayClient(endpoints)
    answers = {message_id: client.cancel(message_id) for message_id in args.ids}
    if args.json:
        print(json.dumps({i: {"http": code, **body} for i, (code, body) in answers.items()}))
    else:
        for message_id, (code, body) in answers.items():
            outcome = {200: "cancelled", 404: "unknown"}.get(code, body.get("reason", ""))
            console.print(f"{escape(message_id)}: {body.get('status', '')} {escape(outcome)}")
    return EXIT_OK if all(code == 200 for code, _ in answers.values()) else EXIT_FAILED


def _status(args: argparse.Namespace, console: Console) -> int:
    view = GatewayClient(_endpoints(args)).status(args.id)
    if view is None:
        Console(stderr=True).print(f"no message with id {args.id!r}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(view, indent=2))
        return EXIT_OK
    console.print(
        f"[bold]{view['id']}[/] {view['channel']} to {view['to']}: [bold]{view['status']}[/]"
    )
    for label, field in _SCHEDULING_FIELDS:
        if view.get(field) is not None:
            # As text: a campaign's colons would read as emoji codes, brackets as markup.
            console.print(f"  {label}: {view[field]}", markup=False, emoji=False)
    if view.get("segments") is not None:
        encoding = f" ({view['encoding']})" if view.get("encoding") else ""
        console.print(f"  segments: {view['segments']}{encoding}")
    if view.get("reason"):
        console.print(f"  reason: {view['reason']}")
    for entry in view["history"]:
        provider = f" ({entry['providerStatus']})" if entry.get("providerStatus") else ""
        console.print(f"  {entry['at']}  {entry['status']}{provider}  from {entry['source']}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
