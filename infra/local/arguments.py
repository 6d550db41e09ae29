"""The command-line options `python -m infra.local` and `cgw local` share: template parameter
overrides, as `sam deploy` takes them, and an outside Orange's client credentials."""

import argparse
from pathlib import Path

from infra.local.carrier_credentials import ClientCredentials, CredentialsError, orange_credentials


def _override(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        type=_override,
        default=[],
        metavar="NAME=VALUE",
        help="template parameter values, as for sam deploy (OrangeApiUrl=https://... sends "
        "to that Orange instead of the simulator)",
    )
    parser.add_argument(
        "--orange-credentials",
        type=Path,
        default=None,
        metavar="FILE",
        help='for an Orange outside the stack: JSON {"account": {"client_id", '
        '"client_secret"}} (default: ORANGE_CLIENT_ID and ORANGE_CLIENT_SECRET, for the '
        "default account)",
    )


def credentials_from(args: argparse.Namespace) -> dict[str, ClientCredentials]:
    """The Orange credentials the options give; exits with the reason when unusable."""
    try:
        return orange_credentials(args.orange_credentials)
    except CredentialsError as exc:
        raise SystemExit(f"--orange-credentials: {exc}") from None
