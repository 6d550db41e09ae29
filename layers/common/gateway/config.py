"""Typed configuration from the environment the template sets, validated once per cold start.

Each getter is cached, so a function reads its environment on first use (not at import,
which keeps tests free to set variables first) and a bad value fails loudly at once. This
module holds what every function shares and the helpers; each carrier package reads its own
settings (`gateway.orange.config`, `gateway.mms.config`, `gateway.orange_pl.config`).
"""

import ipaddress
import os
from collections.abc import Callable
from functools import cache
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def comma_list(value: object) -> object:
    return split(value) if isinstance(value, str) else value


def pairs(value: object) -> object:
    """`"CIV=2250000, SEN=2210000"` -> `{"CIV": "2250000", "SEN": "2210000"}`."""
    if not isinstance(value, str):
        return value
    found = {}
    for item in split(value):
        key, sep, number = item.partition("=")
        if not sep:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        found[key.strip()] = number.strip()
    return found


def networks(value: object) -> object:
    if not isinstance(value, str):
        return value
    return [ipaddress.ip_network(part, strict=False) for part in split(value)]


Networks = Annotated[list[IPNetwork], BeforeValidator(networks)]


def address_in(source_ip: str | None, allowed: list[IPNetwork]) -> bool:
    if not source_ip:
        return False
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    return any(address in network for network in allowed)


class EnvModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


_CLEARS: list[Callable[[], None]] = []


def getter[T: EnvModel](model: type[T]) -> Callable[[], T]:
    """A cached reader of `model` from the environment, forgotten by `cache_clear`."""
    read = cache(model.from_env)
    _CLEARS.append(read.cache_clear)
    return read


def cache_clear() -> None:
    """Read the environment again on next use (tests)."""
    for clear in _CLEARS:
        clear()


class TableConfig(EnvModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


# phonenumbers' number types, by name (its PhoneNumberType, not imported here: the functions
# that never read a number do not load it).
NumberType = Literal[
    "FIXED_LINE",
    "MOBILE",
    "FIXED_LINE_OR_MOBILE",
    "TOLL_FREE",
    "PREMIUM_RATE",
    "SHARED_COST",
    "VOIP",
    "PERSONAL_NUMBER",
    "PAGER",
    "UAN",
    "VOICEMAIL",
    "UNKNOWN",
]


class SenderConfig(EnvModel):
    """The sender: its intake (queue -> lanes) and the lanes' dispatchers."""

    # How long a message without validFor may wait to be handed to the carrier (failures,
    # held account, rate used up) before it ends expired.
    max_wait_seconds: PositiveFloat = Field(alias="SEND_MAX_WAIT_SECONDS", default=86_400)
    # Longer than any send takes: a claim older than this was left by a sender that died.
    send_lease_seconds: PositiveFloat = Field(alias="SEND_LEASE_SECONDS", default=40.0)
    # Messages a lane's dispatcher has in hand at once (one waits for a slot while another
    # is recorded).
    workers_per_account: int = Field(alias="SENDER_WORKERS_PER_ACCOUNT", default=3, ge=1, le=10)
    # The number types the intake sends SMS to (SmsNumberTypes; the default is the template's
    # and gateway.core.send_request.SMS_NUMBER_TYPES, which says why).
    sms_number_types: Annotated[
        frozenset[NumberType], BeforeValidator(comma_list), Field(min_length=1)
    ] = Field(
        alias="SMS_NUMBER_TYPES", default=frozenset({"MOBILE", "FIXED_LINE_OR_MOBILE", "UNKNOWN"})
    )


class DispatchConfig(EnvModel):
    """Where lanes are woken (the intake and the dispatchers)."""

    dispatch_queue_url: str = Field(alias="DISPATCH_QUEUE_URL", min_length=1)
    # Longer than the dispatcher's timeout: a live dispatcher never loses its lane.
    dispatch_lease_seconds: PositiveFloat = Field(alias="DISPATCH_LEASE_SECONDS", default=150.0)


class StatusEventsConfig(EnvModel):
    event_bus: str = Field(alias="EVENT_BUS_NAME", min_length=1)


table_config = getter(TableConfig)
sender_config = getter(SenderConfig)
dispatch_config = getter(DispatchConfig)
status_events_config = getter(StatusEventsConfig)
