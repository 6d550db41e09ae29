"""`cgw demo`: the whole gateway end to end on the local stack, in a minute.

A mix of SMS goes on the send queue (default sender, a custom sender name, on-net, a
number the simulator marks undeliverable, a sender name Orange has not approved, an invalid
request); the table follows each through the status API until it reaches the state it
should end in. Exit 0 only when every one did.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from cgw.gateway_client import GatewayClient
from gateway.masking import mask_msisdn

FINAL = {"delivered", "rejected", "failed"}
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class DemoMessage:
    label: str
    request: dict[str, Any]
    expected: str


def demo_messages(run: str) -> list[DemoMessage]:
    def sms(suffix: str, to: str, **fields: Any) -> dict[str, Any]:
        text = fields.pop("text", f"Hello from carrier-gateway ({suffix})")
        return {"id": f"demo-{run}-{suffix}", "channel": "sms", "to": to, "text": text, **fields}

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
    ]


def settled(status: str | None, expected: str) -> bool:
    """Done watching: it reached the expected state, or a final one it cannot leave."""
    return status == expected or status in FINAL


def run_demo(client: GatewayClient, console: Console, timeout: float = 120.0) -> bool:
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
    ok = all(_status(statuses, m) == m.expected for m in messages)
    console.print(
        "[green]every demo message reached its expected state[/]"
        if ok
        else "[red]some demo messages did not reach their expected state[/]"
    )
    return ok


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
