"""Orange SMS account administration: contracts, usage statistics, purchase orders.

Shapes follow the MEA page (arrays of contracts and purchase orders, the
`partnerStatistics` usage object) and, for contracts, the Mali page's older
`partnerContracts` object as well.
"""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from infra.simulators._orange_wire import Country

DEVELOPER_ID: Final = "developer@example.com"
APPLICATION_ID: Final = "sim-application"
OFFER: Final = "SMS_OCB"
EXPIRED_CONTRACT: Final = "Expired contract"
INSUFFICIENT_BALANCE: Final = "Insufficient balance"
_UNIT_PRICE: Final = 16.0  # the MEA seed's 1 600 FCFA per 100 SMS; a placeholder elsewhere


@dataclass(slots=True)
class Contract:
    """One country's SMS balance, opened by a single bundle purchase."""

    country: Country
    available_units: int
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    purchased_units: int
    purchased_expiry: datetime
    id: str = field(default_factory=lambda: secrets.token_hex(12))

    @classmethod
    def open(cls, country: Country, units: int, expires_at: datetime, now: datetime) -> "Contract":
        return cls(country, units, expires_at, now, now, units, expires_at)

    def refusal(self, now: datetime) -> str | None:
        """Why a send must be refused under this contract (POL0001 variable), or None."""
        if self.expires_at <= now:
            return EXPIRED_CONTRACT
        if self.available_units <= 0:
            return INSUFFICIENT_BALANCE
        return None

    def debit(self, now: datetime) -> None:
        self.available_units -= 1
        self.updated_at = now


def mea_contracts(contracts: Iterable[Contract], now: datetime) -> list[dict[str, Any]]:
    """`GET /sms/admin/v1/contracts`, MEA shape: one element per country."""
    return [
        {
            "id": contract.id,
            "type": "SELFSERVICE",
            "developerId": DEVELOPER_ID,
            "applicationId": APPLICATION_ID,
            "country": contract.country.iso3,
            "offerName": OFFER,
            "availableUnits": contract.available_units,
            "requestedUnits": 0,
            "status": "EXPIRED" if contract.expires_at <= now else "ACTIVE",
            "expirationDate": _iso_millis(contract.expires_at),
            "creationDate": _iso_millis(contract.created_at),
            "lastUpdateDate": _iso_millis(contract.updated_at),
        }
        for contract in contracts
    ]


def mali_contracts(contracts: Iterable[Contract]) -> dict[str, Any]:
    """`GET /sms/admin/v1/contracts`, the Mali page's older `partnerContracts` shape."""
    service_contracts = [
        {
            "country": contract.country.iso3,
            "service": OFFER,
            "contractId": contract.id,
            "availableUnits": contract.available_units,
            "expires": contract.expires_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "scDescription": f"{contract.country.name} - {contract.available_units} SMS "
            f"valid until before {_long_date(contract.expires_at)}",
        }
        for contract in contracts
    ]
    return {
        "partnerContracts": {
            "partnerId": DEVELOPER_ID,
            "contracts": [
                {
                    "service": OFFER,
                    "contractDescription": "Your SMS balance (per country)",
                    "serviceContracts": service_contracts,
                }
            ],
        }
    }


def statistics(usage: Mapping[tuple[str, str], int], appid: str | None) -> dict[str, Any]:
    """`GET /sms/admin/v1/statistics` from sends counted by (service, country)."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    if appid in (None, APPLICATION_ID):
        for (service, iso3), count in sorted(usage.items()):
            row = {"appid": APPLICATION_ID, "usage": count, "nbEnforcements": count}
            by_service.setdefault(service, []).append({"country": iso3, "countryStatistics": [row]})
    return {
        "partnerStatistics": {
            "developerId": DEVELOPER_ID,
            "statistics": [
                {"service": service, "serviceStatistics": rows}
                for service, rows in by_service.items()
            ],
        }
    }


def purchase_orders(contracts: Iterable[Contract]) -> list[dict[str, Any]]:
    """`GET /sms/admin/v1/purchaseorders`, MEA shape: the bundle that opened each contract."""
    return [
        {
            "id": f"po-{contract.id}",
            "developerId": DEVELOPER_ID,
            "contractId": contract.id,
            "country": contract.country.iso3,
            "offerName": OFFER,
            "bundleId": f"bundle-{contract.purchased_units}",
            "bundleDescription": f"Bundle - {contract.purchased_units} SMS (simulator)",
            "price": contract.purchased_units * _UNIT_PRICE,
            "currency": contract.country.currency,
            "purchaseDate": _iso_millis(contract.created_at),
            "paymentMode": "NOCHALLENGE_OM",
            "paymentProviderOrderId": None,
            "payerId": DEVELOPER_ID,
            "type": "BUNDLE_PURCHASE",
            "oldAvailableUnits": 0,
            "newAvailableUnits": contract.purchased_units,
            "oldExpirationDate": _iso_millis(contract.created_at),
            "newExpirationDate": _iso_millis(contract.purchased_expiry),
        }
        for contract in contracts
    ]


def _iso_millis(moment: datetime) -> str:
    """UTC with milliseconds and a Z, as in `2023-01-07T15:04:20.653Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _long_date(moment: datetime) -> str:
    """`May 1, 2015 2:38 PM`, as in the Mali page's scDescription."""
    return f"{moment:%B} {moment.day}, {moment.year} {moment.hour % 12 or 12}:{moment:%M %p}"
