"""Who may post a callback: the refusal every callback handler maps to 401 or 403, and the
checks carriers share (HTTP Basic, a secret compared in constant time)."""

import base64
import binascii
import hmac


class CallbackRefused(Exception):
    """The caller is not the carrier; the reason is logged, never the secret."""


def check_secret(given: str, expected: str, what: str) -> None:
    # Constant time: the comparison must not reveal how much of a guess was right.
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CallbackRefused(f"wrong {what}")


class BasicAuthRequired(CallbackRefused):
    """No or wrong HTTP Basic credentials: 401 with a challenge."""


def check_basic(authorization: str | None, *, username: str, password: str) -> None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise BasicAuthRequired("no HTTP Basic credentials")
    try:
        given_user, _, given_password = (
            base64.b64decode(encoded, validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BasicAuthRequired("unreadable HTTP Basic credentials") from exc
    # `&`, not `and`: both compared, so the time taken does not tell which was wrong.
    matches = hmac.compare_digest(given_user.encode(), username.encode()) & hmac.compare_digest(
        given_password.encode(), password.encode()
    )
    if not (username and password and matches):
        raise BasicAuthRequired("wrong HTTP Basic credentials")
