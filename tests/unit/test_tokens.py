"""The token store: reuse, renewal at a quarter of the lifetime, one refresh for many callers."""

import threading
import time

import pytest

from gateway.aws.locks import LeaseLock
from gateway.aws.secrets import SecretStore
from gateway.observability import metrics
from gateway.orange.client import AccessToken, CredentialsRejected
from gateway.orange.tokens import (
    Credentials,
    CredentialsMissing,
    TokenStore,
    expiry_skew,
    refresh_accounts,
)
from tests.fakes import FakeOrange, MemorySecrets

pytestmark = pytest.mark.usefixtures("aws")


def store(
    orange: FakeOrange, secrets: MemorySecrets, clock: list[float] | None = None
) -> TokenStore:
    return TokenStore(
        token_secret="token",
        credentials_secret="creds",
        fetch=lambda c: orange.fetch_token(c.client_id, c.client_secret),
        lock=LeaseLock("messages", "token#default"),
        secrets=secrets,  # type: ignore[arg-type]
        clock=(lambda: clock[0]) if clock else time.time,
        sleep=lambda _: time.sleep(0.01),
    )


@pytest.fixture
def secrets() -> MemorySecrets:
    return MemorySecrets({"creds": {"client_id": "id", "client_secret": "secret"}})


def test_the_token_is_fetched_once_and_reused(secrets: MemorySecrets) -> None:
    orange = FakeOrange()
    tokens = store(orange, secrets)
    assert {tokens.current().value for _ in range(50)} == {"token-1"}
    assert orange.token_requests == 1
    stored = secrets.values["token"]
    assert stored["lifetime"] == 3600
    assert stored["expires_at"] > time.time() + 3500


@pytest.mark.parametrize("lifetime", [3600.0, 90 * 24 * 3600.0])
def test_the_refresher_renews_under_a_quarter_of_the_lifetime(
    secrets: MemorySecrets, lifetime: float
) -> None:
    orange = FakeOrange(lifetime=lifetime)
    now = [time.time()]
    tokens = store(orange, secrets, clock=now)
    assert tokens.refresh_if_due()  # nothing stored yet
    now[0] += lifetime * 0.74
    assert not tokens.refresh_if_due()
    now[0] += lifetime * 0.02  # 24 % left
    assert tokens.refresh_if_due()
    assert orange.token_requests == 2


def test_the_refresher_does_not_renew_what_another_invocation_just_renewed(
    secrets: MemorySecrets,
) -> None:
    """Between the refresher's look and its lock, a sender renewed the token and let go."""
    orange = FakeOrange()
    sender = store(orange, secrets)

    class RenewedMeanwhile(LeaseLock):
        def acquire(self) -> bool:
            sender.current()  # the other invocation: takes the lock, renews, releases
            return super().acquire()

    refresher = store(orange, secrets)
    refresher._lock = RenewedMeanwhile("messages", "token#default")
    assert not refresher.refresh_if_due()
    assert orange.token_requests == 1


def test_ten_concurrent_refreshes_of_the_same_stale_token_cause_one_request(
    secrets: MemorySecrets,
) -> None:
    orange = FakeOrange()
    tokens = store(orange, secrets)
    stale = tokens.current().value
    results: list[str] = []

    def refresh() -> None:
        results.append(store(orange, secrets).refresh(stale=stale).value)

    threads = [threading.Thread(target=refresh) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert orange.token_requests == 2  # the first token, then one refresh
    assert set(results) == {"token-2"}


def test_an_expired_stored_token_is_replaced(secrets: MemorySecrets) -> None:
    orange = FakeOrange()
    secrets.values["token"] = {
        "access_token": "old",
        "expires_at": time.time() - 1,
        "lifetime": 3600,
    }
    assert store(orange, secrets).current().value == "token-1"


def test_one_account_failing_does_not_stop_the_others(secrets: MemorySecrets) -> None:
    orange = FakeOrange()
    good = store(orange, secrets)
    broken = TokenStore(
        token_secret="other-token",
        credentials_secret="missing-creds",
        fetch=lambda c: orange.fetch_token(c.client_id, c.client_secret),
        lock=LeaseLock("messages", "token#other"),
        secrets=secrets,  # type: ignore[arg-type]
    )
    outcomes = refresh_accounts({"broken": broken, "default": good})
    assert outcomes["default"] == "refreshed"
    assert outcomes["broken"] == "failed: no client credentials in missing-creds"
    assert orange.token_requests == 1


def test_a_failed_renewal_counts_once_whoever_renews(secrets: MemorySecrets) -> None:
    """TokenRefreshFailures, which TokenRefreshFailuresAlarm watches: a dispatcher or the
    poller that cannot get a token counts as the refresher does, and the refresher once."""

    def refused(credentials: Credentials) -> AccessToken:
        raise CredentialsRejected("Orange 401: invalid client credentials")

    def account(credentials_secret: str) -> TokenStore:
        return TokenStore(
            token_secret=f"{credentials_secret}-token",
            credentials_secret=credentials_secret,
            fetch=refused,
            lock=LeaseLock("messages", f"token#{credentials_secret}"),
            secrets=secrets,  # type: ignore[arg-type]
        )

    metrics.clear_metrics()
    with pytest.raises(CredentialsMissing):
        account("missing-creds").current()  # a dispatcher's send, the poller's round
    assert refresh_accounts({"default": account("creds")}) == {
        "default": "failed: Orange 401: invalid client credentials"
    }
    assert metrics.metric_set["TokenRefreshFailures"]["Value"] == [1.0, 1.0]
    metrics.clear_metrics()


def test_a_token_secret_that_does_not_exist_yet_reads_as_empty() -> None:
    assert SecretStore().read_json("not-created-yet", max_age=5) == {}


@pytest.mark.parametrize(("sends_per_second", "tokens_needed"), [(5.0, 2), (1.0, 6)])
def test_100_sends_with_20_second_tokens_reuse_each_token_and_never_past_its_expiry(
    secrets: MemorySecrets, sends_per_second: float, tokens_needed: int
) -> None:
    """Orange's lifetime was 90 days, then an hour: a 20-second one must not mean a token
    request per SMS (a fixed 30 s margin made every 20 s token unusable at once)."""
    now = [1_800_000_000.0]
    fetched: list[AccessToken] = []

    def fetch(credentials: Credentials) -> AccessToken:
        fetched.append(AccessToken(f"token-{len(fetched) + 1}", now[0] + 20.0, 20.0))
        return fetched[-1]

    tokens = TokenStore(
        token_secret="token",
        credentials_secret="creds",
        fetch=fetch,
        lock=LeaseLock("messages", "token#default"),
        secrets=secrets,  # type: ignore[arg-type]
        clock=lambda: now[0],
    )
    for _ in range(100):
        token = tokens.current()
        assert token.expires_at > now[0]  # never used past its expiry
        now[0] += 1 / sends_per_second
    assert len(fetched) == tokens_needed


@pytest.mark.parametrize(
    ("lifetime", "skew"),
    [(90 * 24 * 3600.0, 30.0), (3600.0, 30.0), (300.0, 30.0), (20.0, 2.0), (5.0, 1.0)],
)
def test_the_expiry_margin_is_a_tenth_of_the_lifetime_between_1_and_30_seconds(
    lifetime: float, skew: float
) -> None:
    assert expiry_skew(lifetime) == skew
