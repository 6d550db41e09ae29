"""`cgw resend ID... | --campaign NAME [--status unknown,failed,expired]`: queue a new message
for each original that ended without being delivered, on this explicit command only (the
gateway itself never sends an id twice, and ends `unknown` a message the carrier may have).

The new message is the original's stored send request with a derived id and `resendOf` set to
the original's id. The n-th resend of `X` is `X.r{n}` (`~` is no id character; an id too long
for the suffix keeps its first characters and a digest of the whole, so the result stays
within 128 characters and is still X's alone). n is one more than the resends found by
reading `X.r1`, `X.r2`... until one is unknown; X is resent only when X and each of those
ended, none delivered, and the latest ended with a status that may be resent. So the id
depends only on what is recorded: the same command run twice while the first resend is not
recorded yet queues the same `X.r{n}` twice, which the gateway sends once (one id, one
message); once it is recorded and in flight, the second run is refused; only once it ended
undelivered can another (`X.r{n+1}`) follow. A resend given as the original (`cgw resend
X.r1`) is the original's resend: there is one chain per original, never resends of resends.

The original request is read from the stack's table (as `cgw cancel --campaign` reads it),
not from the status API: it holds the message's text and content, which the status view
leaves out and its readers need not see.
"""

import argparse
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from rich.console import Console
from rich.markup import escape

from cgw.gateway_client import GatewayClient, QueueResult
from cgw.watch import EXIT_USAGE, JSON_OPTION, SETTLED, Resolve, message_store
from gateway.core.model import Message
from gateway.core.status import Status

RESENDABLE = (Status.UNKNOWN, Status.FAILED, Status.EXPIRED, Status.UNDELIVERED, Status.REJECTED)
DEFAULT_STATUSES = (Status.UNKNOWN, Status.FAILED, Status.EXPIRED)
ID_MAX_CHARS = 128  # send_request.ID_PATTERN
DIGEST_CHARS = 12
# Messages read at once (a campaign's): as `cgw cancel --campaign` writes them.
WORKERS = 16
EXIT_OK, EXIT_REFUSED = 0, 1
NOT_RESENT_CHANNELS = {"orange-pl-mms": "Orange Poland sent it; the gateway only follows it"}

type Queue = Callable[[Sequence[str]], QueueResult]


class Messages(Protocol):
    def get(self, message_id: str) -> Message | None: ...

    def message_ids(self, campaign: str) -> Iterator[str]: ...


def resend_id(original: str, n: int) -> str:
    """The n-th resend's id: `{original}.r{n}`, within the id pattern's 128 characters."""
    suffix = f".r{n}"
    if len(original) + len(suffix) <= ID_MAX_CHARS:
        return original + suffix
    digest = hashlib.sha256(original.encode()).hexdigest()[:DIGEST_CHARS]
    return f"{original[: ID_MAX_CHARS - len(suffix) - DIGEST_CHARS - 1]}.{digest}{suffix}"


@dataclass(frozen=True, slots=True)
class Family:
    """An original and its resends so far, in order."""

    original: Message
    resends: list[Message]

    @property
    def latest(self) -> Message:
        return self.resends[-1] if self.resends else self.original

    @property
    def next_id(self) -> str:
        return resend_id(self.original.id, len(self.resends) + 1)

    @property
    def delivered(self) -> Message | None:
        return next((m for m in self.members if m.status == Status.DELIVERED), None)

    @property
    def in_flight(self) -> Message | None:
        return next((m for m in self.members if m.status not in SETTLED), None)

    @property
    def members(self) -> list[Message]:
        return [self.original, *self.resends]

    def request(self) -> str:
        """The new message's send request: the original's, with the next id and the link."""
        request = json.loads(self.original.request or "{}")
        return json.dumps({**request, "id": self.next_id, "resendOf": self.original.id})


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str  # as given, or the campaign's message
    resend: str | None = None  # the new message's id, when queued
    reason: str | None = None  # why not


@dataclass(frozen=True, slots=True)
class Plan:
    given: str
    family: Family | None  # None: the message (or its original) is not known
    reason: str | None = None  # why it is not resent; None: it is


class Resender:
    def __init__(self, store: Messages, queue: Queue) -> None:
        self._store = store
        self._queue = queue

    def resend(self, ids: Sequence[str]) -> list[Outcome]:
        """Resend each id's original if it may be; the rest refused with the reason."""
        plans = self._in_pool(partial(self._plan, allowed=RESENDABLE), ids)
        return self._queue_plans(plans)

    def resend_campaign(self, campaign: str, statuses: Sequence[Status]) -> list[Outcome]:
        """Resend the campaign's originals whose latest message ended in one of `statuses`.
        One delivered by now, or whose latest ended otherwise, is left out; one still in
        flight is refused."""
        ids = list(self._store.message_ids(campaign))
        read = self._in_pool(self._store.get, ids)
        chosen = [m.id for m in read if m is not None and m.status in statuses]
        plans = self._in_pool(partial(self._plan, allowed=statuses), chosen)
        return self._queue_plans([p for p in plans if not _done(p, statuses)])

    def _plan(self, given: str, allowed: Sequence[Status]) -> Plan:
        family = self._family(given)
        if isinstance(family, str):
            return Plan(given, None, family)
        return Plan(given, family, _refusal(family, allowed))

    def _family(self, given: str) -> Family | str:
        message = self._store.get(given)
        if message is None:
            return "no message with this id"
        original = message if message.resend_of is None else self._store.get(message.resend_of)
        if original is None:
            return f"its original {message.resend_of} is not known any more"
        resends: list[Message] = []
        while (found := self._store.get(resend_id(original.id, len(resends) + 1))) is not None:
            resends.append(found)
        return Family(original, resends)

    def _queue_plans(self, plans: list[Plan]) -> list[Outcome]:
        # One resend per original, whichever of its messages was given.
        families = {p.family.original.id: p.family for p in plans if p.family and p.reason is None}
        originals = list(families)
        result = self._queue([families[i].request() for i in originals])
        not_queued = {originals[f.index]: f.reason for f in result.not_queued}
        outcomes = []
        for plan in plans:
            if plan.family is None or plan.reason is not None:
                outcomes.append(Outcome(plan.given, reason=plan.reason))
                continue
            original = plan.family.original.id
            if original in not_queued:
                outcomes.append(Outcome(plan.given, reason=f"not queued: {not_queued[original]}"))
            else:
                outcomes.append(Outcome(plan.given, resend=families[original].next_id))
        return outcomes

    @staticmethod
    def _in_pool[T, R](task: Callable[[T], R], items: Sequence[T]) -> list[R]:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="resend") as pool:
            return list(pool.map(task, items))


def _refusal(family: Family, allowed: Sequence[Status]) -> str | None:
    original = family.original
    if original.channel in NOT_RESENT_CHANNELS:
        return f"an {original.channel} message: {NOT_RESENT_CHANNELS[original.channel]}"
    if (delivered := family.delivered) is not None:
        return "delivered" if delivered is original else f"delivered as {delivered.id}"
    if (in_flight := family.in_flight) is not None:
        return f"still in flight: {in_flight.id} is {in_flight.status}"
    latest = family.latest
    if latest.status not in allowed:
        shown = "" if latest is original else f" ({latest.id})"
        return f"{latest.status}{shown}: only {', '.join(allowed)} are resent"
    if original.request is None:
        return (
            f"{original.status}: its request was not kept (an invalid request is not: "
            "fix it and send it again)"
        )
    return None


def _done(plan: Plan, statuses: Sequence[Status]) -> bool:
    """A campaign's original that needs no resend: delivered by now (by a resend), or whose
    latest resend ended otherwise than `statuses` say."""
    family = plan.family
    if family is None:
        return False
    return family.delivered is not None or (
        family.in_flight is None and family.latest.status not in statuses
    )


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", resolve: Resolve
) -> None:
    parser = commands.add_parser(
        "resend",
        help="queue a new message for originals that ended undelivered",
        description="Queue a new message for each original given (or each of a campaign's "
        "that ended with one of --status): its send request again, with the id "
        "{original}.r{n} and resendOf set. Refused for a message delivered (or resent and "
        "delivered), still in flight (or whose last resend is), cancelled, or whose request "
        "was refused as invalid. Running it again while a resend is in flight queues "
        "nothing new. Exit 1 if any was refused.",
    )
    parser.add_argument("ids", nargs="*", metavar="ID")
    parser.add_argument("--json", **JSON_OPTION)
    parser.add_argument("--campaign", metavar="NAME", help="the campaign's messages")
    parser.add_argument(
        "--status",
        metavar="STATUS,...",
        help=f"with --campaign: the statuses resent (default {','.join(DEFAULT_STATUSES)}; "
        f"any of {', '.join(RESENDABLE)})",
    )
    parser.set_defaults(run=partial(_run, resolve))


def _run(resolve: Resolve, args: argparse.Namespace, console: Console) -> int:
    errors = Console(stderr=True)
    if bool(args.ids) == bool(args.campaign) or (args.status and not args.campaign):
        errors.print("give message ids, or --campaign NAME with an optional --status")
        return EXIT_USAGE
    try:
        statuses = _statuses(args.status)
    except ValueError as exc:
        errors.print(f"--status: {exc}")
        return EXIT_USAGE
    endpoints = resolve(args)
    resender = Resender(message_store(endpoints, WORKERS), GatewayClient(endpoints).queue)
    if args.campaign:
        outcomes = resender.resend_campaign(args.campaign, statuses)
    else:
        outcomes = resender.resend(args.ids)
    _show(outcomes, console, as_json=args.json)
    return EXIT_REFUSED if any(o.reason for o in outcomes) else EXIT_OK


def _statuses(text: str | None) -> list[Status]:
    if text is None:
        return list(DEFAULT_STATUSES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    wrong = [name for name in names if name not in RESENDABLE]
    if wrong or not names:
        raise ValueError(f"{', '.join(wrong) or 'none given'}: only {', '.join(RESENDABLE)}")
    return [Status(name) for name in names]


def _show(outcomes: list[Outcome], console: Console, *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "resent": [{"id": o.id, "resend": o.resend} for o in outcomes if o.resend],
                    "refused": [{"id": o.id, "reason": o.reason} for o in outcomes if o.reason],
                }
            )
        )
        return
    if not outcomes:
        console.print("nothing to resend")
    for outcome in outcomes:
        if outcome.resend:
            console.print(f"{escape(outcome.id)} -> {escape(outcome.resend)}")
        else:
            console.print(f"{escape(outcome.id)}: [red]refused:[/] {escape(outcome.reason or '')}")
