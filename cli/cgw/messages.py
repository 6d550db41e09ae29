"""`cgw messages`: search the gateway's messages through its API (`GET /messages`): by number,
campaign, status and time, newest first, as a table or JSON lines, one page or, with --all,
every page (the cursor followed)."""

import argparse
import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cgw.endpoints import Endpoints
from cgw.gateway_client import GatewayClient

EXIT_OK = 0
# The table's columns: header, the status view's field.
COLUMNS = (
    ("id", "id"),
    ("to", "to"),
    ("status", "status"),
    ("created", "createdAt"),
    ("campaign", "campaign"),
    ("provider status", "providerStatus"),
)
FILTERS = ("to", "campaign", "status", "since", "until", "limit")

type Resolve = Callable[[argparse.Namespace], Endpoints]


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", resolve: Resolve
) -> None:
    """The command; `resolve` finds the stack from the global options."""
    parser = commands.add_parser(
        "messages",
        help="search messages by number, campaign, status and time",
        description="Search the messages (the API's GET /messages), newest first. The "
        "filters combine; without --since and --until, the last 30 days. One page, or every "
        "page with --all.",
    )
    parser.add_argument("--to", metavar="NUMBER", help="the recipient, E.164 with or without +")
    parser.add_argument("--campaign", metavar="NAME", help="the campaign")
    parser.add_argument(
        "--status", metavar="S[,S...]", help="one or several statuses, comma separated"
    )
    parser.add_argument("--since", metavar="RFC3339", help="created at or after (with an offset)")
    parser.add_argument("--until", metavar="RFC3339", help="created at or before (default: now)")
    parser.add_argument("--limit", type=int, metavar="N", help="messages a page, 1-100 (50)")
    parser.add_argument("--all", action="store_true", help="every page, not only the first")
    # Also after the command; SUPPRESS keeps `cgw --json messages` from being overridden.
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON lines")
    parser.set_defaults(run=partial(_run, resolve))


def _run(resolve: Resolve, args: argparse.Namespace, console: Console) -> int:
    client = GatewayClient(resolve(args))
    query = {name: getattr(args, name) for name in FILTERS}
    pages = list(_pages(client, query, every=args.all))
    found = [view for page in pages for view in page["messages"]]
    if args.json:
        for view in found:
            print(json.dumps(view))
        return EXIT_OK
    table = Table(title="messages, newest first")
    for header, _ in COLUMNS:
        table.add_column(header)
    for view in found:
        # As text: an id or a campaign may hold colons or brackets rich would read as markup.
        table.add_row(*(Text(str(view.get(field) or "")) for _, field in COLUMNS))
    console.print(table)
    if pages[-1]["cursor"] is not None:
        console.print("more pages: --all shows them all")
    return EXIT_OK


def _pages(client: GatewayClient, query: dict[str, Any], *, every: bool) -> Iterator[Any]:
    """The first page, or every page, following the cursor."""
    cursor = None
    while True:
        page = client.search(**query, cursor=cursor)
        yield page
        cursor = page["cursor"]
        if cursor is None or not every:
            return
