"""Typed configuration from the environment the template sets, validated once per cold start.

Each getter is cached, so a function reads its environment on first use (not at import,
which keeps tests free to set variables first) and a bad value fails loudly at once.
"""

import ipaddress
import os
from functools import cache
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat

from gateway.countries import BY_ISO3, Country

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _pairs(value: object) -> object:
    """`"CIV=2250000, SEN=2210000"` -> `{"CIV": "2250000", "SEN": "2210000"}`."""
    if not isinstance(value, str):
        return value
    pairs = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, number = item.partition("=")
        if not sep:
            raise ValueError(f"expected ISO3=number, got {item!r}")
        pairs[key.strip().upper()] = number.strip().removeprefix("+")
    return pairs


def _networks(value: object) -> object:
    if not isinstance(value, str):
        return value
    return [
        ipaddress.ip_network(part.strip(), strict=False)
        for part in value.split(",")
        if part.strip()
    ]


class _EnvModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


class TableConfig(_EnvModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


class OrangeConfig(_EnvModel):
    api_url: str = Field(alias="ORANGE_API_URL", min_length=1)
    credentials_secret: str = Field(alias="ORANGE_CREDENTIALS_SECRET", min_length=1)
    token_secret: str = Field(alias="ORANGE_TOKEN_SECRET", min_length=1)
    rate_per_second: PositiveFloat = Field(alias="ORANGE_RATE_PER_SECOND", default=5.0)
    sender_numbers: Annotated[dict[str, str], BeforeValidator(_pairs)] = Field(
        alias="ORANGE_SENDER_NUMBERS", default_factory=dict
    )

    def sender_number(self, country: Country) -> str:
        return self.sender_numbers.get(country.iso3, country.sender_number)

    def check_overrides(self) -> None:
        unknown = sorted(set(self.sender_numbers) - set(BY_ISO3))
        if unknown:
            raise ValueError(f"ORANGE_SENDER_NUMBERS names unknown countries: {unknown}")


class SenderConfig(_EnvModel):
    queue_url: str = Field(alias="SEND_QUEUE_URL", min_length=1)
    max_attempts: int = Field(alias="SEND_MAX_ATTEMPTS", default=5, ge=1)


class ReceiptConfig(_EnvModel):
    token_secret: str = Field(alias="RECEIPT_TOKEN_SECRET", min_length=1)
    allowlist: Annotated[list[IPNetwork], BeforeValidator(_networks)] = Field(
        alias="RECEIPT_ALLOWLIST", default_factory=list
    )

    def allows(self, source_ip: str | None) -> bool:
        if not source_ip:
            return False
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return False
        return any(address in network for network in self.allowlist)


@cache
def table_config() -> TableConfig:
    return TableConfig.from_env()


@cache
def orange_config() -> OrangeConfig:
    config = OrangeConfig.from_env()
    config.check_overrides()
    return config


@cache
def sender_config() -> SenderConfig:
    return SenderConfig.from_env()


@cache
def receipt_config() -> ReceiptConfig:
    return ReceiptConfig.from_env()


def cache_clear() -> None:
    """Read the environment again on next use (tests)."""
    for getter in (table_config, orange_config, sender_config, receipt_config):
        getter.cache_clear()
