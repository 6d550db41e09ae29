"""Typed configuration from the environment the template sets, validated once per cold start.

Each getter is cached, so a function reads its environment on first use (not at import,
which keeps tests free to set variables first) and a bad value fails loudly at once.
"""

import ipaddress
import os
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    StringConstraints,
)

from gateway.countries import BY_ISO3, Country

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _comma_list(value: object) -> object:
    return _split(value) if isinstance(value, str) else value


def _pairs(value: object) -> object:
    """`"CIV=2250000, SEN=2210000"` -> `{"CIV": "2250000", "SEN": "2210000"}`."""
    if not isinstance(value, str):
        return value
    pairs = {}
    for item in _split(value):
        key, sep, number = item.partition("=")
        if not sep:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        pairs[key.strip()] = number.strip()
    return pairs


def _networks(value: object) -> object:
    if not isinstance(value, str):
        return value
    return [ipaddress.ip_network(part, strict=False) for part in _split(value)]


class _EnvModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


class TableConfig(_EnvModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


DEFAULT_ACCOUNT = "default"
AccountName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


def _known_country(iso3: str) -> str:
    iso3 = iso3.upper()
    if iso3 not in BY_ISO3:
        raise ValueError(f"{iso3!r} is not one of Orange's countries {sorted(BY_ISO3)}")
    return iso3


Iso3 = Annotated[str, AfterValidator(_known_country)]


@dataclass(frozen=True, slots=True)
class OrangeAccount:
    """One Orange developer account: its own credentials, token and rate limit."""

    name: str
    credentials_secret: str
    token_secret: str
    rate_per_second: float
    bill_per_segment: bool  # each SMS segment counts against the rate, not each request

    def cost(self, segments: int) -> int:
        """The units an SMS of `segments` parts uses of this account's rate."""
        return segments if self.bill_per_segment else 1


class OrangeConfig(_EnvModel):
    """Orange accounts and routing. The `default` account uses the template's two secrets;
    another account `X` uses `{ORANGE_SECRETS_PREFIX}/X/credentials` and `.../X/token`."""

    api_url: str = Field(alias="ORANGE_API_URL", min_length=1)
    credentials_secret: str = Field(alias="ORANGE_CREDENTIALS_SECRET", min_length=1)
    token_secret: str = Field(alias="ORANGE_TOKEN_SECRET", min_length=1)
    secrets_prefix: str = Field(alias="ORANGE_SECRETS_PREFIX", default="carrier-gateway/orange")
    rate_per_second: PositiveFloat = Field(alias="ORANGE_RATE_PER_SECOND", default=5.0)
    sender_numbers: Annotated[dict[Iso3, str], BeforeValidator(_pairs)] = Field(
        alias="ORANGE_SENDER_NUMBERS", default_factory=dict
    )
    country_accounts: Annotated[dict[Iso3, AccountName], BeforeValidator(_pairs)] = Field(
        alias="ORANGE_COUNTRY_ACCOUNTS", default_factory=dict
    )
    account_rates: Annotated[dict[AccountName, PositiveFloat], BeforeValidator(_pairs)] = Field(
        alias="ORANGE_ACCOUNT_RATES", default_factory=dict
    )
    segment_billed: Annotated[list[AccountName], BeforeValidator(_comma_list)] = Field(
        alias="ORANGE_SEGMENT_BILLED_ACCOUNTS", default_factory=list
    )

    def sender_number(self, country: Country) -> str:
        return self.sender_numbers.get(country.iso3, country.sender_number).removeprefix("+")

    def account_names(self) -> list[str]:
        named = {DEFAULT_ACCOUNT, *self.country_accounts.values(), *self.account_rates}
        return sorted(named)

    def account_for(self, country: Country) -> OrangeAccount:
        return self.account(self.country_accounts.get(country.iso3, DEFAULT_ACCOUNT))

    def account(self, name: str) -> OrangeAccount:
        if name == DEFAULT_ACCOUNT:
            credentials, token = self.credentials_secret, self.token_secret
        else:
            credentials = f"{self.secrets_prefix}/{name}/credentials"
            token = f"{self.secrets_prefix}/{name}/token"
        return OrangeAccount(
            name=name,
            credentials_secret=credentials,
            token_secret=token,
            rate_per_second=self.account_rates.get(name, self.rate_per_second),
            bill_per_segment=name in self.segment_billed,
        )


class SenderConfig(_EnvModel):
    queue_url: str = Field(alias="SEND_QUEUE_URL", min_length=1)
    max_attempts: int = Field(alias="SEND_MAX_ATTEMPTS", default=5, ge=1)
    # The sender's timeout plus a margin (see sending.DEFAULT_SEND_LEASE_SECONDS).
    send_lease_seconds: PositiveFloat = Field(alias="SEND_LEASE_SECONDS", default=40.0)
    # Requests each invocation may have waiting for, or at, one carrier account (gateway.lanes).
    workers_per_account: int = Field(alias="SENDER_WORKERS_PER_ACCOUNT", default=2, ge=1, le=10)


class ReceiptConfig(_EnvModel):
    token_secret: str = Field(alias="RECEIPT_TOKEN_SECRET", min_length=1)
    allowlist: Annotated[list[IPNetwork], BeforeValidator(_networks)] = Field(
        alias="RECEIPT_ALLOWLIST", default_factory=list
    )

    def allows(self, source_ip: str | None) -> bool:
        return _address_in(source_ip, self.allowlist)


def _address_in(source_ip: str | None, networks: list[IPNetwork]) -> bool:
    if not source_ip:
        return False
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


class OrangePlConfig(_EnvModel):
    api_url: str = Field(alias="ORANGE_PL_API_URL", min_length=1)
    credentials_secret: str = Field(alias="ORANGE_PL_CREDENTIALS_SECRET", min_length=1)
    token_secret: str = Field(alias="ORANGE_PL_TOKEN_SECRET", min_length=1)
    # The seed points at Orange Poland's OAuth 2 documentation for the token.
    token_path: str = Field(alias="ORANGE_PL_TOKEN_PATH", default="/oauth/v2/token")


class PollingConfig(_EnvModel):
    """Shared by the sender (the first poll) and the poller (the next ones)."""

    # 1 in production; the local demo compresses the minutes between polls.
    backoff_scale: PositiveFloat = Field(alias="ORANGE_PL_BACKOFF_SCALE", default=1.0)


class Mm7SubmitConfig(_EnvModel):
    """The MMSC the `mms` channel submits to, and who the gateway is there. Without an MMSC
    URL the channel is off: `mms` requests end failed, SMS are unaffected."""

    mmsc_url: str = Field(alias="MM7_MMSC_URL", default="")
    credentials_secret: str = Field(alias="MM7_MMSC_CREDENTIALS_SECRET", default="")
    vasp_id: str = Field(alias="MM7_VASP_ID", default="")
    vas_id: str = Field(alias="MM7_VAS_ID", default="")
    sender_address: str = Field(alias="MM7_SENDER_ADDRESS", default="")
    service_code: str = Field(alias="MM7_SERVICE_CODE", default="")
    mm7_version: str = Field(alias="MM7_VERSION", default="6.8.0")
    namespace: str = Field(
        alias="MM7_NAMESPACE",
        default="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4",
    )


class Mm7CallbackConfig(_EnvModel):
    credentials_secret: str = Field(alias="MM7_CREDENTIALS_SECRET", min_length=1)
    # Empty: any source address (HTTP Basic still applies).
    allowlist: Annotated[list[IPNetwork], BeforeValidator(_networks)] = Field(
        alias="MM7_ALLOWLIST", default_factory=list
    )
    bucket: str = Field(alias="BUCKET_NAME", min_length=1)
    event_bus: str = Field(alias="EVENT_BUS_NAME", min_length=1)

    def allows(self, source_ip: str | None) -> bool:
        return not self.allowlist or _address_in(source_ip, self.allowlist)


class StatusEventsConfig(_EnvModel):
    event_bus: str = Field(alias="EVENT_BUS_NAME", min_length=1)


@cache
def status_events_config() -> StatusEventsConfig:
    return StatusEventsConfig.from_env()


@cache
def table_config() -> TableConfig:
    return TableConfig.from_env()


@cache
def orange_config() -> OrangeConfig:
    return OrangeConfig.from_env()


@cache
def sender_config() -> SenderConfig:
    return SenderConfig.from_env()


@cache
def receipt_config() -> ReceiptConfig:
    return ReceiptConfig.from_env()


@cache
def orange_pl_config() -> OrangePlConfig:
    return OrangePlConfig.from_env()


def orange_pl_configured() -> bool:
    return bool(os.environ.get("ORANGE_PL_CREDENTIALS_SECRET"))


@cache
def polling_config() -> PollingConfig:
    return PollingConfig.from_env()


@cache
def mm7_submit_config() -> Mm7SubmitConfig:
    return Mm7SubmitConfig.from_env()


@cache
def mm7_callback_config() -> Mm7CallbackConfig:
    return Mm7CallbackConfig.from_env()


def cache_clear() -> None:
    """Read the environment again on next use (tests)."""
    for getter in (
        table_config,
        orange_config,
        orange_pl_config,
        sender_config,
        receipt_config,
        mm7_callback_config,
        mm7_submit_config,
        polling_config,
        status_events_config,
    ):
        getter.cache_clear()
