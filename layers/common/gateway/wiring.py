"""Each function's collaborators, built once per container from the typed configuration.

A carrier's modules (and what they pull in: lxml and the MM7 codec, requests, phonenumbers)
are imported by the builders that use them, not here: each function's cold start pays only
for what it runs (tests/unit/test_function_imports.py holds it)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from gateway.aws.balance_store import BalanceRepository
from gateway.aws.dispatch_queue import DispatchQueue, dispatch_lease_name
from gateway.aws.inbound_store import InboundRepository
from gateway.aws.locks import LeaseLock
from gateway.aws.message_store import MessageRepository
from gateway.aws.queue_store import QueueStore
from gateway.aws.ratelimit import SlotRateLimiter
from gateway.aws.threads import run_traced
from gateway.config import dispatch_config, sender_config, table_config
from gateway.core.cancelling import Canceller, RecentCampaignMarks
from gateway.core.retry import RetryPolicy
from gateway.core.tracking import StatusTracker
from gateway.mms.config import mm7_callback_config, mm7_submit_config
from gateway.orange_pl.config import orange_pl_config, orange_pl_configured, polling_config

if TYPE_CHECKING:
    from gateway.aws.secrets import SecretStore
    from gateway.core.dispatching import Dispatcher
    from gateway.core.intake import Intake
    from gateway.core.pacing import ArrivalPacer
    from gateway.core.sending import Channel, Sender
    from gateway.core.submission import Submissions
    from gateway.mms.callbacks import Mm7Callbacks
    from gateway.mms.channel import Mm7Channel
    from gateway.orange.balance import BalanceSnapshots
    from gateway.orange.client import OrangeClient
    from gateway.orange.receipts import OrangeReceipts
    from gateway.orange.subscription_resource import ReceiptSubscriptionResource
    from gateway.orange.tokens import TokenStore
    from gateway.orange_pl.poller import StatusPoller

CALLBACK_SECRET_CACHE_SECONDS = 300
ORANGE_PL_ACCOUNT = "orange-pl"


@cache
def secret_store() -> SecretStore:
    from gateway.aws.secrets import SecretStore

    return SecretStore()


@cache
def repository() -> MessageRepository:
    return MessageRepository(table_config().table_name)


@cache
def tracker() -> StatusTracker:
    return StatusTracker(repository())


@cache
def orange_client() -> OrangeClient:
    from gateway.orange.client import OrangeClient
    from gateway.orange.config import orange_config

    return OrangeClient(orange_config().api_url)


@cache
def token_store(account: str) -> TokenStore:
    from gateway.orange.config import orange_config
    from gateway.orange.tokens import account_token_store

    return account_token_store(
        orange_config().account(account),
        client=orange_client(),
        table_name=table_config().table_name,
        secrets=secret_store(),
    )


@cache
def rate_limiter(account: str) -> SlotRateLimiter:
    from gateway.orange.config import orange_config

    rate = orange_config().account(account).rate_per_second
    return SlotRateLimiter(table_config().table_name, account, rate)


@cache
def arrival_pacer(account: str) -> ArrivalPacer:
    from gateway.core.pacing import ArrivalPacer
    from gateway.orange.config import orange_config

    # Orange counts whole requests (or segments) per second: the allowance is the cap's floor.
    config = orange_config()
    rate = config.account(account).rate_per_second
    return ArrivalPacer(allowance=max(1, int(rate)), enabled=config.pacing == "answers")


def mm7_channel() -> Mm7Channel:
    from gateway.mm7.submit import SubmitSettings
    from gateway.mms.channel import Mm7Channel

    config = mm7_submit_config()
    settings = SubmitSettings(
        vasp_id=config.vasp_id,
        vas_id=config.vas_id,
        sender_address=config.sender_address,
        service_code=config.service_code,
        mm7_version=config.mm7_version,
        namespace=config.namespace,
    )

    def credentials() -> tuple[str, str]:
        raw = secret_store().read_json(
            config.credentials_secret, max_age=CALLBACK_SECRET_CACHE_SECONDS
        )
        return str(raw.get("username", "")), str(raw.get("password", ""))

    return Mm7Channel(settings=settings, credentials=credentials, mmsc_url=config.mmsc_url)


@cache
def sender() -> Sender:
    from gateway.core.sending import Sender
    from gateway.orange.config import orange_config
    from gateway.orange.holds import AccountHolds
    from gateway.orange.sms_channel import OrangeSmsChannel
    from gateway.orange_pl.channel import OrangePlChannel

    sms = OrangeSmsChannel(
        client=orange_client(),
        tokens=token_store,
        limiters=rate_limiter,
        pacers=arrival_pacer,
        holds=AccountHolds(BalanceRepository(table_config().table_name)),
        config=orange_config(),
    )
    pl = OrangePlChannel(backoff_scale=polling_config().backoff_scale)
    channels: dict[str, Channel[Any]] = {"sms": sms, "orange-pl-mms": pl}
    if mm7_submit_config().mmsc_url:
        channels["mms"] = mm7_channel()
    return Sender(
        tracker=tracker(),
        channels=channels,
        retry=RetryPolicy(sender_config().max_wait_seconds),
        campaigns=RecentCampaignMarks(repository()),
    )


@cache
def queue_store() -> QueueStore:
    return QueueStore(table_config().table_name)


@cache
def canceller() -> Canceller:
    return Canceller(store=repository(), campaigns=repository())


@cache
def intake() -> Intake:
    from gateway.core.intake import Intake

    return Intake(
        store=repository(),
        queue=queue_store(),
        canceller=canceller(),
        sms_number_types=sender_config().sms_number_types,
    )


def submissions() -> Submissions:
    from gateway.aws.clients import AWS_FAILURES
    from gateway.core.submission import Submissions

    return Submissions(admit=sender().admit, intake=intake(), storage_failures=AWS_FAILURES)


def dispatch_lease(lane: str) -> LeaseLock:
    return LeaseLock(
        table_config().table_name,
        dispatch_lease_name(lane),
        lease_seconds=dispatch_config().dispatch_lease_seconds,
    )


@cache
def dispatch_queue() -> DispatchQueue:
    return DispatchQueue(
        table_config().table_name, dispatch_config().dispatch_queue_url, lease=dispatch_lease
    )


@cache
def dispatcher() -> Dispatcher:
    from gateway.core.dispatching import Dispatcher

    config = sender_config()
    return Dispatcher(
        store=repository(),
        queue=queue_store(),
        sender=sender(),
        wakeup=dispatch_queue(),
        lease=dispatch_lease,
        workers=config.workers_per_account,
        send_lease_seconds=config.send_lease_seconds,
        runner=run_traced,
    )


def lanes() -> list[str]:
    """Every lane a message can wait in: one per Orange account, MMS, Orange Poland."""
    from gateway.mms.channel import MMS_LANE
    from gateway.orange.config import orange_config
    from gateway.orange.sms_channel import orange_lane
    from gateway.orange_pl.channel import ORANGE_PL_LANE

    names = [orange_lane(account) for account in orange_config().account_names()]
    return [*names, MMS_LANE, ORANGE_PL_LANE]


@cache
def mm7_callbacks() -> Mm7Callbacks:
    from gateway.mms.callbacks import Mm7Callbacks
    from gateway.mms.inbound import InboundMessages

    config = mm7_callback_config()
    inbound = InboundMessages(
        InboundRepository(table_config().table_name), bucket=config.bucket, bus=config.event_bus
    )
    return Mm7Callbacks(tracker(), inbound)


def mm7_credentials() -> tuple[str, str]:

    raw = secret_store().read_json(
        mm7_callback_config().credentials_secret, max_age=CALLBACK_SECRET_CACHE_SECONDS
    )
    return str(raw.get("username", "")), str(raw.get("password", ""))


@cache
def orange_pl_token_store() -> TokenStore:
    """Orange Poland's own account: kept fresh by the token refresher, used by the poller."""
    from gateway.orange.client import OrangeClient
    from gateway.orange.tokens import TokenStore

    config = orange_pl_config()
    oauth = OrangeClient(config.api_url, token_path=config.token_path)
    return TokenStore(
        token_secret=config.token_secret,
        credentials_secret=config.credentials_secret,
        fetch=lambda c: oauth.fetch_token(c.client_id, c.client_secret),
        lock=LeaseLock(table_config().table_name, f"token#{ORANGE_PL_ACCOUNT}"),
        secrets=secret_store(),
    )


@cache
def orange_pl_poller() -> StatusPoller:
    from gateway.orange_pl.client import OrangePlClient
    from gateway.orange_pl.poller import StatusPoller

    return StatusPoller(
        repository=repository(),
        tracker=tracker(),
        client=OrangePlClient(orange_pl_config().api_url),
        tokens=orange_pl_token_store(),
        backoff_scale=polling_config().backoff_scale,
    )


def refreshed_token_stores() -> dict[str, TokenStore]:
    """Every account whose token the refresher keeps: each Orange account, and Orange PL's
    when the function is configured for it."""
    from gateway.orange.config import orange_config

    stores = {account: token_store(account) for account in orange_config().account_names()}
    if orange_pl_configured():
        stores[ORANGE_PL_ACCOUNT] = orange_pl_token_store()
    return stores


@cache
def balance_snapshots() -> BalanceSnapshots:
    from gateway.orange.admin import OrangeAdmin
    from gateway.orange.balance import BalanceSnapshots
    from gateway.orange.config import orange_config

    return BalanceSnapshots(
        admin=OrangeAdmin(orange_config().api_url),
        repository=BalanceRepository(table_config().table_name),
    )


@cache
def orange_receipts() -> OrangeReceipts:
    from gateway.orange.receipts import OrangeReceipts

    return OrangeReceipts(tracker())


def receipt_token() -> str:
    from gateway.orange.config import receipt_config

    return secret_store().read_text(
        receipt_config().token_secret, max_age=CALLBACK_SECRET_CACHE_SECONDS
    )


def receipt_subscription_resource() -> ReceiptSubscriptionResource:
    """Per invocation: it holds the receipt token it read, to redact it from its answer."""
    from gateway.orange.config import orange_config
    from gateway.orange.subscription_resource import ReceiptSubscriptionResource
    from gateway.orange.subscriptions import OrangeSubscriptionsApi, ReceiptSubscriptions

    config = orange_config()
    subscriptions = ReceiptSubscriptions(
        api=OrangeSubscriptionsApi(config.api_url), tokens=token_store, config=config
    )
    return ReceiptSubscriptionResource(subscriptions=subscriptions, receipt_token=receipt_token)


def reset() -> None:
    """Forget every built collaborator (tests)."""
    for builder in (
        secret_store,
        repository,
        tracker,
        orange_client,
        token_store,
        rate_limiter,
        arrival_pacer,
        sender,
        queue_store,
        intake,
        canceller,
        dispatch_queue,
        dispatcher,
        mm7_callbacks,
        orange_receipts,
        orange_pl_poller,
        balance_snapshots,
    ):
        builder.cache_clear()
