"""The Orange access token: stored with its expiry in Secrets Manager, reused by every sender,
refreshed by one invocation at a time.

Orange asks that a token be reused until it expires rather than fetched per call. The
refresher renews it when under a quarter of its lifetime remains (the lifetime is read from
each answer: it has changed before, from 90 days to an hour). Senders use a token until a
margin before its expiry that scales with its lifetime (`expiry_skew`), so even a short-lived
token serves many sends. A sender that still gets 401 asks for a refresh: under
the lock, whoever comes second finds the new token already stored and uses it, so ten
concurrent senders cause one token request, not ten.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from gateway.aws.locks import LeaseLock
from gateway.aws.secrets import SecretStore
from gateway.core.carrier_errors import CarrierError, Unavailable
from gateway.observability import logger, metrics
from gateway.orange.client import AccessToken, OrangeClient
from gateway.orange.config import OrangeAccount

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CACHE_SECONDS = 300
REFRESH_WHEN_REMAINING = 0.25  # of the token's lifetime
# A token is not used in its last tenth of life, at most 30 s and at least 1 s before expiry:
# a fixed 30 s would make a token of 30 s or less unusable, one request per send.
EXPIRY_SKEW_SECONDS = 30.0
EXPIRY_SKEW_SHARE = 0.1
EXPIRY_SKEW_FLOOR_SECONDS = 1.0
LOCK_WAIT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.2


class TokenUnavailable(Unavailable):
    """No usable token could be had in time; the message is retried later."""


class CredentialsMissing(TokenUnavailable):
    """The account's credentials secret holds no client credentials (yet): a new stack's, or
    another account's secret not created yet."""


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    client_secret: str


class TokenStore:
    def __init__(
        self,
        *,
        token_secret: str,
        credentials_secret: str,
        fetch: Callable[[Credentials], AccessToken],
        lock: LeaseLock,
        secrets: SecretStore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token_secret = token_secret
        self._credentials_secret = credentials_secret
        self._fetch = fetch
        self._lock = lock
        self._secrets = secrets
        self._clock = clock
        self._sleep = sleep

    def current(self) -> AccessToken:
        """A token believed valid: the cached copy, the stored one, or a fresh one."""
        token = self._stored(force=False)
        if self._usable(token):
            return token
        token = self._stored(force=True)
        if self._usable(token):
            return token
        return self.refresh(stale=token.value if token else None)

    def refresh(self, stale: str | None) -> AccessToken:
        """Replace `stale` (the token Orange just refused), once across all invocations."""
        deadline = self._clock() + LOCK_WAIT_SECONDS
        while not self._lock.acquire():
            newer = self._stored(force=True)
            if self._usable(newer) and newer.value != stale:
                return newer
            if self._clock() > deadline:
                raise TokenUnavailable("timed out waiting for another token refresh")
            self._sleep(LOCK_POLL_SECONDS)
        try:
            newer = self._stored(force=True)
            if self._usable(newer) and newer.value != stale:
                return newer
            return self._renew()
        finally:
            self._lock.release()

    def refresh_if_due(self) -> bool:
        """The scheduled check: renew when under a quarter of the lifetime remains."""
        if not self._due():
            return False
        if not self._lock.acquire():
            return False  # a sender is refreshing right now
        try:
            # Again under the lock: another invocation may have renewed it since we looked.
            if not self._due():
                return False
            self._renew()
        finally:
            self._lock.release()
        return True

    def _due(self) -> bool:
        token = self._stored(force=True)
        return (
            token is None
            or token.remaining(self._clock()) <= REFRESH_WHEN_REMAINING * token.lifetime
        )

    def _renew(self) -> AccessToken:
        """A new token from Orange, stored for every invocation. Orange's failure to give one
        counts in `TokenRefreshFailures` whoever renews (the refresher, a dispatcher given 401,
        the poller, the balance snapshot): the template's alarm watches it."""
        try:
            return self._fetch_and_store()
        except CarrierError:
            metrics.add_metric(name="TokenRefreshFailures", unit="Count", value=1)
            raise

    def _fetch_and_store(self) -> AccessToken:
        raw = self._secrets.read_json(self._credentials_secret, max_age=CACHE_SECONDS)
        credentials = Credentials(str(raw.get("client_id", "")), str(raw.get("client_secret", "")))
        if not (credentials.client_id and credentials.client_secret):
            raise CredentialsMissing(f"no client credentials in {self._credentials_secret}")
        token = self._fetch(credentials)
        self._secrets.write_json(
            self._token_secret,
            {
                "access_token": token.value,
                "expires_at": token.expires_at,
                "lifetime": token.lifetime,
            },
        )
        self._stored(force=True)  # refresh our own cache with what we just wrote
        metrics.add_metric(name="TokenRefreshes", unit="Count", value=1)
        logger.info("orange token refreshed", lifetime_seconds=token.lifetime)
        return token

    def _stored(self, *, force: bool) -> AccessToken | None:
        raw = self._secrets.read_json(self._token_secret, max_age=CACHE_SECONDS, force=force)
        try:
            return AccessToken(
                value=str(raw["access_token"]),
                expires_at=float(raw["expires_at"]),
                lifetime=float(raw["lifetime"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def _usable(self, token: AccessToken | None) -> TypeGuard[AccessToken]:
        return token is not None and token.remaining(self._clock()) > expiry_skew(token.lifetime)


def expiry_skew(lifetime: float) -> float:
    """How long before its expiry a token of `lifetime` seconds is no longer used."""
    return min(EXPIRY_SKEW_SECONDS, max(EXPIRY_SKEW_FLOOR_SECONDS, EXPIRY_SKEW_SHARE * lifetime))


def account_token_store(
    account: OrangeAccount,
    *,
    client: OrangeClient,
    table_name: str,
    secrets: SecretStore,
    dynamodb: "DynamoDBClient | None" = None,
) -> TokenStore:
    """An Orange account's token store: its secrets, its lock in the gateway's table (through
    `dynamodb`, else the function's own client), tokens fetched through `client`."""
    return TokenStore(
        token_secret=account.token_secret,
        credentials_secret=account.credentials_secret,
        fetch=lambda c: client.fetch_token(c.client_id, c.client_secret),
        lock=LeaseLock(table_name, f"token#{account.name}", client=dynamodb),
        secrets=secrets,
    )


def refresh_accounts(stores: Mapping[str, TokenStore]) -> dict[str, str]:
    """The refresher's round: each account on its own, so one failing does not stop the rest."""
    outcomes = {}
    for account, store in stores.items():
        try:
            outcomes[account] = "refreshed" if store.refresh_if_due() else "fresh"
        except CarrierError as exc:
            outcomes[account] = f"failed: {exc}"
            logger.error("token refresh failed", account=account, reason=str(exc))
    return outcomes
