"""`cgw demo`: the whole gateway end to end on the local stack, in a minute.

A mix goes on the send queue: SMS (default sender, a custom sender name, on-net, a number
the simulator marks undeliverable, a sender name Orange has not approved, an invalid
request), two MMS through the MMSC (one it delivers, one it rejects) and an MMS sent through
Orange Poland to follow by polling; the table follows each through the status API until it
reaches the state it should end in, `cgw watch` sums them up and `cgw messages --to` finds
the first one by its number. Then the MMSC pushes a mobile-originated MMS, which must be
stored. Exit 0 only when all of it happened.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from cgw.watch import follow
from gateway.core.masking import mask_msisdn
from infra.simulators.mmsc import MmscSimulator

if TYPE_CHECKING:
    from infra.local.stack import LocalStack, LocalStackOptions

FINAL = {"delivered", "rejected", "failed"}
POLL_SECONDS = 0.5
PIXEL = "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="  # a 1x1 GIF


@dataclass(frozen=True)
class DemoMessage:
    label: str
    request: dict[str, Any]
    expected: str


def demo_messages(run: str) -> list[DemoMessage]:
    def sms(suffix: str, to: str, **fields: Any) -> dict[str, Any]:
        text = fields.pop("text", f"Hello from carrier-gateway ({suffix})")
        return {"id": f"demo-{run}-{suffix}", "channel": "sms", "to": to, "text": text, **fields}

    def mms(suffix: str, to: str) -> dict[str, Any]:
        return {
            "id": f"demo-{run}-{suffix}",
            "channel": "mms",
            "to": to,
            "subject": "Your voucher",
            "text": "Bonjour ! Voici votre bon de réduction.",
            "attachments": [{"contentType": "image/gif", "base64": PIXEL}],
        }

    return [
        DemoMessage("default sender", sms("default", "+2250700000001"), "delivered"),
        DemoMessage(
            "custom senderName",
            sms("sender-name", "+221771234567", senderName="MonService"),
            "delivered",
        ),
        DemoMessage("on-net offer", sms("on-net", "+22370000001", onNet=True), "delivered"),
        DemoMessage("undeliverable number", sms("undeliverable", "+2250700000099"), "undelivered"),
        DemoMessage(
            "unapproved senderName",
            sms("unapproved-name", "+2250700000002", senderName="NotApproved"),
            "rejected",
        ),
        DemoMessage("invalid request", sms("invalid", "not-a-number"), "failed"),
        DemoMessage("MMS through the MMSC", mms("mms", "+12125550123"), "delivered"),
        DemoMessage(
            "MMS to an unknown subscriber", mms("mms-rejected", "+12125550199"), "undelivered"
        ),
        DemoMessage(
            "Orange Poland MMS",
            {
                "id": f"demo-{run}-orange-pl",
                "channel": "orange-pl-mms",
                "providerMessageId": f"retrieved-demo-{run}",
                "to": "+48600000001",
            },
            "delivered",
        ),
    ]


def settled(status: str | None, expected: str) -> bool:
    """Done watching: it reached the expected state, or a final one it cannot leave."""
    return status == expected or status in FINAL


def run_demo(
    client: GatewayClient,
    console: Console,
    timeout: float = 120.0,
    receive_mo: Callable[[], tuple[bool, str]] | None = None,
) -> bool:
    messages = demo_messages(uuid.uuid4().hex[:6])
    client.send(m.request for m in messages)
    console.print(f"queued {len(messages)} messages on {client.endpoints.send_queue_url}")
    statuses: dict[str, dict[str, Any] | None] = {}
    deadline = time.monotonic() + timeout
    with _Display(console, messages, statuses) as display:
        while time.monotonic() < deadline:
            for message in messages:
                statuses[message.request["id"]] = client.status(message.request["id"])
            display()
            if all(settled(_status(statuses, m), m.expected) for m in messages):
                break
            time.sleep(POLL_SECONDS)
    console.print(_table(messages, statuses, with_history=True))
    # What `cgw watch` says of them (their statuses, read once more).
    follow([m.request["id"] for m in messages], client.status, console=console, timeout=0)
    ok = all(_status(statuses, m) == m.expected for m in messages) and _searched(
        client, console, messages[0]
    )
    if receive_mo is not None:
        mo_ok, summary = receive_mo()
        console.print(f"mobile-originated MMS: {summary}")
        ok = ok and mo_ok
    console.print(
        "[green]every demo message reached its expected state[/]"
        if ok
        else "[red]some demo messages did not reach their expected state[/]"
    )
    return ok


def _searched(client: GatewayClient, console: Console, message: DemoMessage) -> bool:
    """What `cgw messages --to NUMBER` finds: the demo's message to that number among them."""
    to = message.request["to"]
    found = client.search(to=to.removeprefix("+"), limit=5)["messages"]
    console.print(
        f"cgw messages --to {mask_msisdn(to)}: the {len(found)} latest sent to it: "
        + ", ".join(f"{view['id']} ({view['status']})" for view in found)
    )
    return any(view["id"] == message.request["id"] for view in found)


def _status(statuses: dict[str, dict[str, Any] | None], message: DemoMessage) -> str | None:
    view = statuses.get(message.request["id"])
    return view["status"] if view else None


def _table(
    messages: list[DemoMessage],
    statuses: dict[str, dict[str, Any] | None],
    *,
    with_history: bool = False,
) -> Table:
    table = Table(title="carrier-gateway demo")
    for column in ("message", "to", "status", "provider status", "expected", ""):
        table.add_column(column)
    if with_history:
        table.add_column("history / reason")
    for message in messages:
        view = statuses.get(message.request["id"]) or {}
        status = view.get("status", "-")
        row = [
            message.label,
            mask_msisdn(str(message.request["to"])),
            status,
            view.get("providerStatus") or "",
            message.expected,
            "[green]✓[/]" if status == message.expected else "…",
        ]
        if with_history:
            path = " → ".join(h["status"] for h in view.get("history", []))
            row.append(f"{path}  {view.get('reason', '')}".strip())
        table.add_row(*row)
    return table


class _Display:
    """A live table on a terminal; one line per change when the output is a log (CI)."""

    def __init__(
        self,
        console: Console,
        messages: list[DemoMessage],
        statuses: dict[str, dict[str, Any] | None],
    ) -> None:
        self._console = console
        self._messages = messages
        self._statuses = statuses
        self._seen: dict[str, str | None] = {}
        self._live: Live | None = None

    def __enter__(self) -> Callable[[], None]:
        if self._console.is_terminal:
            self._live = Live(self._render(), console=self._console, refresh_per_second=4)
            self._live.__enter__()
        return self._update

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def _render(self) -> Table:
        return _table(self._messages, self._statuses)

    def _update(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            return
        for message in self._messages:
            status = _status(self._statuses, message)
            if self._seen.get(message.label) != status:
                self._seen[message.label] = status
                self._console.print(f"  {message.label:<24} {status}")


def demo_stack_options(state_dir: Path) -> "LocalStackOptions":
    """Its own state folder and free ports (a `cgw local` already running is left alone);
    schedules run 60 times as often and Orange PL polls come seconds apart, not minutes."""
    from infra.local.stack import LocalStackOptions  # noqa: PLC0415 - moto loads on use

    return LocalStackOptions(
        state_dir=state_dir,
        api_port=0,
        aws_port=0,
        schedule_speedup=60,
        parameter_overrides={"OrangePlPollBackoffScale": "0.02"},
    )


def run_demo_on(stack: "LocalStack", console: Console, timeout: float) -> bool:
    """The demo on a running local stack; whether every message ended as expected."""
    console.print(f"local stack up: API {stack.endpoints['api_url']}, logs in {stack.logs_dir}")
    client = GatewayClient(from_local_dict(dict(stack.endpoints)))
    return run_demo(client, console, timeout=timeout, receive_mo=partial(receive_mo, stack))


def receive_mo(stack: "LocalStack") -> tuple[bool, str]:
    """The MMSC simulator pushes a DeliverReq; it must be answered 1000 and stored."""
    answer = stack.simulator(MmscSimulator).push_deliver(sender="+12125550123", subject="Photo")
    records = stack.clients.dynamodb().scan(
        TableName=stack.endpoints["table_name"],
        FilterExpression="begins_with(pk, :mo)",
        ExpressionAttributeValues={":mo": {"S": "MO#"}},
    )["Items"]
    if answer.status_code != 1000 or not records or not records[0]["published"]["BOOL"]:
        return False, f"[red]not stored and announced[/] (MMSC got {answer.status_code})"
    parts = records[0]["parts"]["L"]
    described = ", ".join(f"{p['M']['contentType']['S']} {p['M']['size']['N']} B" for p in parts)
    return True, f"[green]stored[/] {records[0]['id']['S']}: {described} in S3, event published"
