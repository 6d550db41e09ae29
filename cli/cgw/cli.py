"""cgw: operate the carrier gateway from a terminal.

  cgw local                 run the whole gateway on this machine (Ctrl-C stops it)
  cgw demo                  start a local stack, send the demo messages, follow them
  cgw send FILE|-|JSON      queue one send request, or a JSON-lines file of them
  cgw status ID             one message's state and history
  cgw balance               the latest Orange balance per account and country
  cgw orange-subscription create|show|delete
                            the Orange receipt subscription, by hand

Endpoints come from a deployed stack's outputs (--stack NAME) or from the running local
stack's .local/endpoints.json.
"""

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cgw import orange_subscription
from cgw.endpoints import (
    DEFAULT_LOCAL_DIR,
    Endpoints,
    EndpointsNotFound,
    from_local,
    from_local_dict,
    from_stack,
)
from cgw.gateway_client import GatewayClient, GatewayError
from gateway.carrier_errors import CarrierError
from gateway.repository import BalanceRepository

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A log (CI) is read later and wider than a terminal: do not wrap the tables at 80 columns.
    console = Console() if Console().is_terminal else Console(width=160)
    try:
        code: int = args.run(args, console)
    except (EndpointsNotFound, GatewayError, CarrierError, ClientError, ValueError) as exc:
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
    local.set_defaults(run=_local)

    demo = commands.add_parser("demo", help="the gateway end to end on a fresh local stack")
    demo.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the end")
    demo.set_defaults(run=_demo)

    send = commands.add_parser("send", help="queue send requests")
    send.add_argument("source", help="a JSON request, a JSON-lines file, or - for stdin")
    send.set_defaults(run=_send)

    balance = commands.add_parser("balance", help="the latest Orange balance snapshot")
    balance.add_argument(
        "--account", action="append", help="an Orange account (repeatable; default: default)"
    )
    balance.set_defaults(run=_balance)

    status = commands.add_parser("status", help="one message's state and history")
    status.add_argument("id")
    status.set_defaults(run=_status)

    orange_subscription.add_parser(commands, _endpoints)
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
        LocalStackOptions(state_dir=args.local_dir, api_port=args.api_port, aws_port=args.aws_port)
    )


def _demo(args: argparse.Namespace, console: Console) -> int:
    from cgw.demo import receive_mo, run_demo  # noqa: PLC0415 - see _local
    from infra.local.stack import LocalStack, LocalStackOptions  # noqa: PLC0415

    # Its own state folder and free ports: a `cgw local` already running is left alone.
    # Schedules run 60 times as often and Orange PL polls come seconds apart, not minutes.
    options = LocalStackOptions(
        state_dir=args.local_dir / "demo",
        api_port=0,
        aws_port=0,
        schedule_speedup=60,
        parameter_overrides={"OrangePlPollBackoffScale": "0.02"},
    )
    console.print("starting the local stack (moto, carrier simulators, functions)…")
    with LocalStack(options) as stack:
        console.print(f"local stack up: API {stack.endpoints['api_url']}, logs in {stack.logs_dir}")
        client = GatewayClient(from_local_dict(dict(stack.endpoints)))
        ok = run_demo(client, console, timeout=args.timeout, receive_mo=partial(receive_mo, stack))
    return EXIT_OK if ok else EXIT_FAILED


def _send(args: argparse.Namespace, console: Console) -> int:
    client = GatewayClient(_endpoints(args))
    requests = list(_requests(args.source))
    queued = client.send(requests)
    ids = [r.get("id") for r in requests]
    if args.json:
        print(json.dumps({"queued": queued, "ids": ids}))
    else:
        console.print(f"queued {queued} send request(s)")
    return EXIT_OK


def _requests(source: str) -> Iterator[dict[str, Any]]:
    if source.lstrip().startswith("{"):
        lines = [source]
    elif source == "-":
        lines = sys.stdin.read().splitlines()
    else:
        lines = Path(source).read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError(f"line {number}: a send request is a JSON object")
        yield request


def _balance(args: argparse.Namespace, console: Console) -> int:
    endpoints = _endpoints(args)
    repository = BalanceRepository(endpoints.table_name, client=endpoints.dynamodb())
    rows = [row for account in args.account or ["default"] for row in repository.latest(account)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        console.print("no balance snapshot yet (the snapshot runs hourly)")
        return EXIT_FAILED
    table = Table(title="Orange SMS balance")
    for column in ("account", "country", "units", "status", "expires", "days left", "used", "at"):
        table.add_column(column)
    for row in sorted(rows, key=lambda r: (r["account"], r["country"])):
        table.add_row(
            row["account"],
            row["country"],
            str(row["units"]),
            row.get("status") or "",
            row.get("expires") or "",
            row.get("daysToExpiry") or "",
            str(row.get("used", "")),
            row["takenAt"],
        )
    console.print(table)
    return EXIT_OK


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
    if view.get("reason"):
        console.print(f"  reason: {view['reason']}")
    for entry in view["history"]:
        provider = f" ({entry['providerStatus']})" if entry.get("providerStatus") else ""
        console.print(f"  {entry['at']}  {entry['status']}{provider}  from {entry['source']}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
