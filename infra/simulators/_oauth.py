"""Orange's OAuth 2.0 client-credentials flow, for the Orange simulators.

The token endpoint takes the client id and secret as HTTP Basic credentials and
`grant_type=client_credentials`, and answers `{"token_type": "Bearer", "access_token",
"expires_in"}` with `expires_in` a string of seconds, as Orange's pages show. A protected call
then carries `Authorization: Bearer <token>`: a missing or unknown token is refused with
Orange's code 41, an expired one with code 42. Each client id is an account: `authorize`
answers the id a token was issued to.
"""

import logging
import secrets
import threading
import time
from collections.abc import Mapping

from werkzeug.wrappers import Request, Response

from infra.simulators._http import json_response
from infra.simulators._orange_wire import expired_credentials, invalid_credentials, oauth_error

logger = logging.getLogger(__name__)
# The token type Orange answers (RFC 6750).
BEARER = "Bearer"


class TokenIssuer:
    """Issues bearer tokens to known clients and checks them; thread-safe."""

    def __init__(
        self, clients: Mapping[str, str], *, lifetime: int, expires_in_as_number: bool = False
    ) -> None:
        self._clients = dict(clients)  # client id -> secret
        self._lifetime = lifetime
        self._expires_in_as_number = expires_in_as_number
        self._expiry: dict[str, tuple[str, float]] = {}  # token -> (client id, monotonic expiry)
        self._lock = threading.Lock()

    def add_client(self, client_id: str, secret: str) -> None:
        """Another client (account) that may ask for tokens, or a new secret for one."""
        with self._lock:
            self._clients[client_id] = secret

    def issue(self, request: Request) -> Response:
        """The token endpoint's whole answer: a token, or Orange's OAuth error."""
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or not self._is_client(auth.username, auth.password)
        ):
            logger.info("token refused error=invalid_client")
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        if request.form.get("grant_type") != "client_credentials":
            logger.info("token refused error=unsupported_grant_type")
            return oauth_error(
                400, "unsupported_grant_type", "Only grant_type=client_credentials is supported."
            )
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expiry[token] = (auth.username or "", time.monotonic() + self._lifetime)
        logger.info("token issued lifetime=%d", self._lifetime)
        lifetime = self._lifetime
        return json_response(
            {
                "token_type": BEARER,
                "access_token": token,
                # The seeds show a string; some clients must also cope with a number.
                "expires_in": lifetime if self._expires_in_as_number else str(lifetime),
            }
        )

    def authorize(self, request: Request) -> str | Response:
        """The bearer token's client id, or the 401 (code 41 or 42) to answer instead."""
        auth = request.authorization
        token = auth.token if auth is not None and auth.type == "bearer" else None
        with self._lock:
            issued = self._expiry.get(token or "")
        if issued is None:
            logger.info("bearer token refused code=41")
            return invalid_credentials()
        client_id, expires_at = issued
        if expires_at <= time.monotonic():
            logger.info("bearer token refused code=42")
            return expired_credentials()
        return client_id

    def expire_all(self) -> int:
        """Make every issued token expired; returns how many there were."""
        now = time.monotonic()
        with self._lock:
            self._expiry = {token: (client, now) for token, (client, _) in self._expiry.items()}
            return len(self._expiry)

    def _is_client(self, client_id: str | None, secret: str | None) -> bool:
        with self._lock:
            expected = self._clients.get(client_id or "")
        # Constant time: the comparison must not reveal how much of a guess was right.
        return expected is not None and secrets.compare_digest(
            (secret or "").encode(), expected.encode()
        )
