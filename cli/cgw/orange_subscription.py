"""`cgw orange-subscription create|show|delete`: the Orange receipt subscription by hand, with
the gateway's own subscription code and the stack's own settings: the subscription function's
environment (accounts, sender numbers, secrets), its secrets, its table for the token lock.

Orange answers with the receipt URL, whose last segment is the callback's secret token: it is
masked in everything printed.
"""

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cgw.endpoints import Endpoints, EndpointsNotFound
from gateway.aws.secrets import SecretStore
from gateway.observability import logger
from gateway.orange.client import OrangeClient
from gateway.orange.config import OrangeConfig
from gateway.orange.subscriptions import (
    OrangeSubscriptionsApi,
    ReceiptSubscriptions,
    RegistrationFailed,
    SubscriptionRef,
    decode_refs,
    encode_refs,
    receipt_url,
)
from gateway.orange.tokens import TokenStore, account_token_store

SUBSCRIPTION_FUNCTION = "OrangeSubscriptionFunction"
SECRET_CACHE_SECONDS = 60
EXIT_OK, EXIT_FAILED = 0, 1

type Resolve = Callable[[argparse.Namespace], Endpoints]
type Action = Callable[[argparse.Namespace, Endpoints, Console], int]


@dataclass(frozen=True)
class Subscriptions:
    """The gateway's subscriptions as the stack's function would handle them."""

    subscriptions: ReceiptSubscriptions
    receipt_url: str  # the gateway's, token included: never printed
    stack_refs: str | None  # what the stack's custom resource registered


def connect(endpoints: Endpoints) -> Subscriptions:
    environment = endpoints.function_environment(SUBSCRIPTION_FUNCTION)
    try:
        config = OrangeConfig.model_validate(environment)
        token_secret, table = environment["RECEIPT_TOKEN_SECRET"], environment["TABLE_NAME"]
    except (ValidationError, KeyError) as exc:
        raise EndpointsNotFound(f"{SUBSCRIPTION_FUNCTION}'s environment: {exc}") from exc
    secrets = SecretStore(SecretsProvider(boto3_client=endpoints.secretsmanager()))
    client = OrangeClient(config.api_url)
    dynamodb = endpoints.dynamodb()

    def tokens(account: str) -> TokenStore:
        return account_token_store(
            config.account(account),
            client=client,
            table_name=table,
            secrets=secrets,
            dynamodb=dynamodb,
        )

    try:
        token = secrets.read_text(token_secret, max_age=SECRET_CACHE_SECONDS)
    except GetParameterError as exc:
        raise EndpointsNotFound(f"the receipt token secret: {exc}") from exc
    return Subscriptions(
        subscriptions=ReceiptSubscriptions(
            api=OrangeSubscriptionsApi(config.api_url), tokens=tokens, config=config
        ),
        receipt_url=receipt_url(endpoints.api_url, token),
        stack_refs=endpoints.receipt_subscriptions,
    )


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", resolve: Resolve
) -> None:
    """The command and its actions; `resolve` finds the stack from the global options."""
    parser = commands.add_parser(
        "orange-subscription", help="register, show or delete the Orange receipt subscription"
    )
    actions = parser.add_subparsers(required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="register the gateway's receipt URL (one subscription per account)"
    )
    create.add_argument(
        "--account", action="append", help="an Orange account (repeatable; default: all)"
    )
    create.add_argument(
        "--sender", help="the sender number to register under (default: the account's own)"
    )
    create.set_defaults(run=partial(_run, _create, resolve))
    for name, run, what in (
        ("show", _show, "what Orange holds for the subscriptions"),
        ("delete", _delete, "delete the subscriptions"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument(
            "refs", nargs="*", metavar="REF", help="account:sender:id (default: the stack's)"
        )
        action.set_defaults(run=partial(_run, run, resolve))


def _run(action: Action, resolve: Resolve, args: argparse.Namespace, console: Console) -> int:
    with _logs_to_stderr():
        return action(args, resolve(args), console)


@contextmanager
def _logs_to_stderr() -> Iterator[None]:
    """The gateway's code logs JSON lines for CloudWatch; here stdout is the command's output,
    so only its warnings show, on stderr."""
    handler, level = logger.registered_handler, logger.log_level
    if not isinstance(handler, logging.StreamHandler):
        yield
        return
    stream = handler.stream
    handler.setStream(sys.stderr)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        handler.setStream(stream)
        logger.setLevel(level)


def _create(args: argparse.Namespace, endpoints: Endpoints, console: Console) -> int:
    tools = connect(endpoints)
    try:
        registration = tools.subscriptions.register(
            tools.receipt_url, accounts=args.account, sender_number=args.sender
        )
    except RegistrationFailed as failure:
        _print_refs(args, console, failure.registered, {}, error=str(failure))
        return EXIT_FAILED
    _print_refs(args, console, registration.refs, registration.skipped)
    return EXIT_OK if registration.refs else EXIT_FAILED


def _print_refs(
    args: argparse.Namespace,
    console: Console,
    refs: list[SubscriptionRef],
    skipped: dict[str, str],
    error: str | None = None,
) -> None:
    if args.json:
        result: dict[str, Any] = {
            "ref": encode_refs(refs),
            "subscriptions": [_ref_json(ref) for ref in refs],
            "skipped": skipped,
        }
        if error:
            result["error"] = error
        print(json.dumps(result, indent=2))
        return
    if refs:
        table = Table(title="Orange receipt subscriptions registered")
        for column in ("account", "sender", "subscription id"):
            table.add_column(column)
        for ref in refs:
            table.add_row(Text(ref.account), Text(ref.sender_number), Text(ref.subscription_id))
        console.print(table)
        console.print(Text(f"reference: {encode_refs(refs)}"))
    for account, why in skipped.items():
        console.print(Text.assemble(("skipped", "yellow"), f" {account}: {why}"))
    if error:
        Console(stderr=True).print(Text.assemble(("error:", "red"), f" {error}"))
    elif not refs:
        Console(stderr=True).print("[red]error:[/] no subscription was registered")


@dataclass(frozen=True)
class _Shown:
    ref: SubscriptionRef
    notify_url: str | None  # masked; None when Orange has no such subscription
    is_receipt_url: bool

    def to_json(self) -> dict[str, Any]:
        return {
            **_ref_json(self.ref),
            "found": self.notify_url is not None,
            "notifyUrl": self.notify_url,
            "isReceiptUrl": self.is_receipt_url,
        }


def _show(args: argparse.Namespace, endpoints: Endpoints, console: Console) -> int:
    tools = connect(endpoints)
    shown = []
    for ref in _refs(args, tools):
        notify_url = tools.subscriptions.show(ref)
        shown.append(
            _Shown(
                ref,
                mask_url(notify_url) if notify_url is not None else None,
                notify_url is not None and same_url(notify_url, tools.receipt_url),
            )
        )
    if args.json:
        print(json.dumps([row.to_json() for row in shown], indent=2))
    else:
        table = Table(title="Orange receipt subscriptions")
        for column in ("account", "sender", "subscription id", "notify URL", "the gateway's"):
            table.add_column(column)
        for row in shown:
            table.add_row(
                Text(row.ref.account),
                Text(row.ref.sender_number),
                Text(row.ref.subscription_id),
                Text(row.notify_url) if row.notify_url is not None else Text("not found", "red"),
                Text("yes") if row.is_receipt_url else Text("no", "red"),
            )
        console.print(table)
    # A script can tell: 0 only when every subscription sends receipts to this gateway.
    return EXIT_OK if all(row.is_receipt_url for row in shown) else EXIT_FAILED


def _delete(args: argparse.Namespace, endpoints: Endpoints, console: Console) -> int:
    tools = connect(endpoints)
    removal = tools.subscriptions.delete(_refs(args, tools))
    outcomes = {str(ref): "deleted" for ref in removal.deleted}
    outcomes |= {str(ref): "already gone" for ref in removal.gone}
    outcomes |= {ref: f"left: {why}" for ref, why in removal.left.items()}
    outcomes |= {ref: f"failed: {why}" for ref, why in removal.failed.items()}
    if args.json:
        print(json.dumps(outcomes, indent=2))
    else:
        for ref, outcome in outcomes.items():
            console.print(Text(f"{ref}: {outcome}"))
    return EXIT_FAILED if removal.failed or removal.left else EXIT_OK


def _refs(args: argparse.Namespace, tools: Subscriptions) -> list[SubscriptionRef]:
    if args.refs:
        return [ref for text in args.refs for ref in decode_refs(text)]
    if tools.stack_refs is None:
        raise ValueError("no REF given, and the stack records no subscription")
    refs = decode_refs(tools.stack_refs)
    if not refs:
        raise ValueError("the stack registered no subscription (no Orange credentials then?)")
    return refs


def _ref_json(ref: SubscriptionRef) -> dict[str, str]:
    return {
        "account": ref.account,
        "sender": ref.sender_number,
        "subscriptionId": ref.subscription_id,
        "ref": str(ref),
    }


def mask_url(url: str) -> str:
    """The URL with its last path segment (the receipt token) masked."""
    parts = urlsplit(url)
    head, _, last = parts.path.rpartition("/")
    return urlunsplit(parts._replace(path=f"{head}/****" if last else parts.path, query=""))


def same_url(a: str, b: str) -> bool:
    """Equal once the scheme's default port is dropped: Orange echoes https URLs with :443."""
    return _without_default_port(a) == _without_default_port(b)


def _without_default_port(url: str) -> str:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return url
    if port is not None and port == default and parts.hostname:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    return url
