"""Who may post a callback: Orange's receipts carry a secret in the URL and come from Orange's
published addresses; both must hold."""

import hmac

from gateway.config import ReceiptConfig


class CallbackRefused(Exception):
    """The caller is not the carrier; the reason is logged, never the secret."""


def check_orange_receipt(
    config: ReceiptConfig, *, source_ip: str | None, token: str, expected: str
) -> None:
    if not config.allows(source_ip):
        raise CallbackRefused("source address not on the receipt allowlist")
    # Constant time: the comparison must not reveal how much of a guess was right.
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise CallbackRefused("wrong receipt URL token")
