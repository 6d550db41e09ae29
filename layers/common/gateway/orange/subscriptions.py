"""Orange's delivery-receipt subscription (seed orange-sms-api-mali.txt, "Subscription API"):
register the gateway's receipt URL, read it back, remove it.

    POST   /smsmessaging/v1/outbound/tel%3A%2B{sender}/subscriptions        -> 201, resourceURL
    GET    /smsmessaging/v1/outbound/subscriptions/{id}                       -> notifyURL
    DELETE /smsmessaging/v1/outbound/tel%3A%2B{sender}/subscriptions/{id}   -> 204

Orange keeps one receipt URL per developer account, "used for all your applications, whatever
the country you are sending your SMS MT", and each registration replaces it. So the gateway
registers once per configured account, under one of that account's own sender numbers
(`subscription_sender`), and keeps account, sender number and id together (`SubscriptionRef`):
the DELETE path names the sender number, the id alone does not do.

The receipt URL carries the callback's secret token: it goes into the request body and
nowhere else, never into a log line, an exception or a reference.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote, unquote

import requests

from gateway.carrier_http import HttpApi, transport_error
from gateway.core.carrier_errors import (
    CarrierError,
    OutcomeUnknown,
    Rejected,
    Unavailable,
    before_the_call,
)
from gateway.observability import logger
from gateway.orange.client import (
    CODE_TOO_MANY_REQUESTS,
    OUTBOUND,
    TokenRejected,
    describe,
    json_body,
    outbound_path,
)
from gateway.orange.config import DEFAULT_ACCOUNT, OrangeConfig
from gateway.orange.countries import COUNTRIES
from gateway.orange.tokens import CredentialsMissing, TokenStore

RECEIPT_PATH = "/callbacks/orange/dr"
REFS_PREFIX = "orange-receipts:"
MAX_REFS_LENGTH = 1024  # CloudFormation's limit for a physical resource id
_REF = re.compile(r"(?P<account>[a-z0-9][a-z0-9-]{0,39}):(?P<sender>\d{4,15}):(?P<id>[^,:]+)")


def receipt_url(api_url: str, token: str) -> str:
    """The URL Orange posts receipts to: the API's base URL, the route, the secret token."""
    return f"{api_url.rstrip('/')}{RECEIPT_PATH}/{token}"


@dataclass(frozen=True, slots=True)
class SubscriptionRef:
    """One registered subscription, written `account:sender:id` (the id URL-encoded)."""

    account: str
    sender_number: str  # international digits, no +
    subscription_id: str

    def __str__(self) -> str:
        return f"{self.account}:{self.sender_number}:{quote(self.subscription_id, safe='')}"

    @classmethod
    def parse(cls, text: str) -> "SubscriptionRef":
        match = _REF.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"not an account:sender:id subscription reference: {text!r}")
        return cls(match["account"], match["sender"], unquote(match["id"]))


def encode_refs(refs: Sequence[SubscriptionRef]) -> str:
    """`orange-receipts:default:2250000:id1,mali:2230000:id2` (`...:none` when empty): the
    custom resource's physical id, and what the CLI prints and reads."""
    text = REFS_PREFIX + (",".join(map(str, refs)) or "none")
    if len(text) > MAX_REFS_LENGTH:
        raise ValueError(f"{len(refs)} subscriptions do not fit in {MAX_REFS_LENGTH} characters")
    return text


def decode_refs(text: str) -> list[SubscriptionRef]:
    """What `encode_refs` wrote, or refs separated by commas without the prefix; ValueError
    for anything else (an id CloudFormation made up for a Create that never answered)."""
    body = text.strip().removeprefix(REFS_PREFIX)
    if body == "none":
        return []
    refs = [SubscriptionRef.parse(part) for part in body.split(",") if part.strip()]
    if not refs:
        raise ValueError("no subscription reference given")
    return refs


NO_SUBSCRIPTIONS = encode_refs([])


def subscription_sender(config: OrangeConfig, account: str) -> str | None:
    """The sender number an account's subscription goes under: the first (by ISO3) of the
    account's countries with a number in ORANGE_SENDER_NUMBERS, else the account's first
    country in Orange's table; None when no country is sent through the account."""
    countries = [
        country
        for country in COUNTRIES
        if config.country_accounts.get(country.iso3, DEFAULT_ACCOUNT) == account
    ]
    configured = sorted(
        (c for c in countries if c.iso3 in config.sender_numbers), key=lambda c: c.iso3
    )
    chosen = configured or countries
    return config.sender_number(chosen[0]) if chosen else None


class OrangeSubscriptionsApi(HttpApi):
    """The three calls over HTTP, each answer turned into a value or a `CarrierError`."""

    def create(self, token: str, sender_number: str, notify_url: str) -> str:
        """Register `notify_url`; the new subscription's id."""
        body = {"deliveryReceiptSubscription": {"callbackReference": {"notifyURL": notify_url}}}
        path = outbound_path(sender_number, "subscriptions")
        response = self._call("POST", path, token, json=body, sends=True)
        if response.status_code in (200, 201):
            return _subscription_id(response)
        raise _error_for(response)

    def show(self, token: str, subscription_id: str) -> str | None:
        """The notify URL Orange holds for the subscription; None when there is none."""
        path = f"{OUTBOUND}/subscriptions/{quote(subscription_id, safe='')}"
        response = self._call("GET", path, token)
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            return str(_callback_reference(json_body(response)).get("notifyURL", ""))
        raise _error_for(response)

    def delete(self, token: str, sender_number: str, subscription_id: str) -> bool:
        """Remove the subscription; False when Orange has no such subscription (any more)."""
        path = outbound_path(sender_number, f"subscriptions/{quote(subscription_id, safe='')}")
        response = self._call("DELETE", path, token)
        if response.status_code in (200, 204):
            return True
        if response.status_code == 404:
            return False
        raise _error_for(response)

    def _call(
        self, method: str, path: str, token: str, *, sends: bool = False, **kwargs: Any
    ) -> requests.Response:
        try:
            return self._session.request(
                method,
                self._base + path,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            if sends:  # a registration whose answer was lost may have been made
                raise transport_error("Orange", exc) from exc
            raise Unavailable(f"Orange unreachable: {type(exc).__name__}") from exc


def _callback_reference(payload: dict[str, Any]) -> dict[str, Any]:
    subscription = payload.get("deliveryReceiptSubscription")
    reference = subscription.get("callbackReference") if isinstance(subscription, dict) else None
    return reference if isinstance(reference, dict) else {}


def _subscription_id(response: requests.Response) -> str:
    """The id at the end of the answer's resourceURL (or of its Location header)."""
    subscription = json_body(response).get("deliveryReceiptSubscription")
    url = subscription.get("resourceURL") if isinstance(subscription, dict) else None
    url = str(url or response.headers.get("Location", "")).rstrip("/")
    subscription_id = url.rsplit("/", 1)[-1]
    if not subscription_id or subscription_id == "subscriptions":
        raise OutcomeUnknown("Orange took the receipt URL without giving a subscription id")
    return unquote(subscription_id)


def _error_for(response: requests.Response) -> CarrierError:
    status = response.status_code
    if status == 401:
        return TokenRejected(describe(response))
    rate_limited = status == 403 and json_body(response).get("code") == CODE_TOO_MANY_REQUESTS
    if status >= 500 or status == 429 or rate_limited:
        return Unavailable(describe(response))  # nothing was done: try again later
    return Rejected(describe(response))


@dataclass(frozen=True, slots=True)
class Registration:
    refs: list[SubscriptionRef]
    skipped: dict[str, str] = field(default_factory=dict)  # account -> why it has none


class RegistrationFailed(CarrierError):
    """An account's registration failed; `registered` holds the accounts done before it."""

    def __init__(self, reason: str, registered: list[SubscriptionRef]) -> None:
        super().__init__(reason)
        self.registered = registered


@dataclass(frozen=True, slots=True)
class Removal:
    deleted: list[SubscriptionRef] = field(default_factory=list)
    gone: list[SubscriptionRef] = field(default_factory=list)  # Orange had none (any more)
    left: dict[str, str] = field(default_factory=dict)  # ref -> why it cannot be removed
    failed: dict[str, str] = field(default_factory=dict)  # ref -> the error


def _never() -> bool:
    return False


class ReceiptSubscriptions:
    """Register, show and remove the receipt subscriptions of the configured Orange accounts,
    each call with the account's token (renewed once when Orange refuses it)."""

    def __init__(
        self,
        *,
        api: OrangeSubscriptionsApi,
        tokens: Callable[[str], TokenStore],
        config: OrangeConfig,
    ) -> None:
        self._api = api
        self._tokens = tokens
        self._config = config

    def register(
        self,
        notify_url: str,
        *,
        accounts: Sequence[str] | None = None,
        sender_number: str | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> Registration:
        """One subscription per account (default: every configured one). An account without
        client credentials yet is skipped; any other failure stops the round."""
        registered: list[SubscriptionRef] = []
        skipped: dict[str, str] = {}
        for account in accounts or self._config.account_names():
            sender = sender_number or subscription_sender(self._config, account)
            if sender is None:
                skipped[account] = "no country is sent through this account"
                continue
            if cancelled():
                raise RegistrationFailed(f"out of time before account {account}", registered)
            create = partial(self._api.create, sender_number=sender, notify_url=notify_url)
            try:
                subscription_id = self._with_token(account, create)
            except CredentialsMissing as exc:
                skipped[account] = str(exc)
                logger.warning(
                    "orange receipt subscription skipped", account=account, reason=str(exc)
                )
                continue
            except CarrierError as exc:
                raise RegistrationFailed(f"account {account}: {exc}", registered) from exc
            registered.append(SubscriptionRef(account, sender, subscription_id))
            logger.info(
                "orange receipt subscription registered",
                account=account,
                sender=sender,
                subscription_id=subscription_id,
            )
        return Registration(registered, skipped)

    def show(self, ref: SubscriptionRef) -> str | None:
        """The notify URL Orange holds for `ref`; None when Orange has no such subscription."""
        return self._with_token(
            ref.account, partial(self._api.show, subscription_id=ref.subscription_id)
        )

    def delete(self, refs: Sequence[SubscriptionRef]) -> Removal:
        """Remove each subscription; one failing does not stop the others."""
        removal = Removal()
        for ref in refs:
            remove = partial(
                self._api.delete,
                sender_number=ref.sender_number,
                subscription_id=ref.subscription_id,
            )
            try:
                found = self._with_token(ref.account, remove)
            except CredentialsMissing as exc:
                removal.left[str(ref)] = str(exc)
                logger.warning("orange receipt subscription left", ref=str(ref), reason=str(exc))
            except CarrierError as exc:
                removal.failed[str(ref)] = str(exc)
                logger.error(
                    "orange receipt subscription not deleted", ref=str(ref), reason=str(exc)
                )
            else:
                (removal.deleted if found else removal.gone).append(ref)
                logger.info("orange receipt subscription deleted", ref=str(ref), found=found)
        return removal

    def _with_token[T](self, account: str, call: Callable[[str], T]) -> T:
        tokens = self._tokens(account)
        token = before_the_call(tokens.current).value
        try:
            return call(token)
        except TokenRejected:
            return call(before_the_call(partial(tokens.refresh, stale=token)).value)
