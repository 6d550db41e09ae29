"""Orange's SMS account administration (seeds, "View your SMS balance" and the next two):
contracts, usage statistics and purchase orders, read into one shape whichever of the two
response shapes the API answers (the MEA page's array, the Mali page's `partnerContracts`)."""

from dataclasses import dataclass
from typing import Any

import requests

from gateway.carrier_http import HttpApi
from gateway.core.carrier_errors import Unavailable
from gateway.orange.client import TokenRejected, describe

ADMIN = "/sms/admin/v1"


@dataclass(frozen=True, slots=True)
class ContractBalance:
    country: str  # ISO3
    units: int
    status: str  # ACTIVE, EXPIRED, or "" when the shape does not say
    expires: str  # as Orange writes it
    offer: str


@dataclass(frozen=True, slots=True)
class AccountReport:
    contracts: list[ContractBalance]
    usage: dict[str, int]  # ISO3 -> SMS sent, over all applications and offers
    purchases: int


def read_contracts(payload: Any) -> list[ContractBalance]:
    if isinstance(payload, list):  # MEA: one element per country
        return [
            ContractBalance(
                country=str(c.get("country", "")),
                units=int(c.get("availableUnits", 0)),
                status=str(c.get("status", "")),
                expires=str(c.get("expirationDate", "")),
                offer=str(c.get("offerName", "")),
            )
            for c in payload
            if isinstance(c, dict)
        ]
    contracts = (payload or {}).get("partnerContracts", {}).get("contracts", [])
    return [  # Mali: per service, then per country
        ContractBalance(
            country=str(sc.get("country", "")),
            units=int(sc.get("availableUnits", 0)),
            status="",
            expires=str(sc.get("expires", "")),
            offer=str(sc.get("service", service.get("service", ""))),
        )
        for service in contracts
        for sc in service.get("serviceContracts", [])
    ]


def read_usage(payload: Any) -> dict[str, int]:
    usage: dict[str, int] = {}
    statistics = (payload or {}).get("partnerStatistics", {}).get("statistics", [])
    for service in statistics:
        for country in service.get("serviceStatistics", []):
            iso3 = str(country.get("country", ""))
            used = sum(int(app.get("usage", 0)) for app in country.get("countryStatistics", []))
            usage[iso3] = usage.get(iso3, 0) + used
    return usage


def read_purchases(payload: Any) -> int:
    orders = payload if isinstance(payload, list) else (payload or {}).get("purchaseOrders", [])
    return len(orders)


class OrangeAdmin(HttpApi):
    def report(self, token: str, country: str | None = None) -> AccountReport:
        """The account's contracts, usage and purchases; one country's only when `country`
        (ISO3) is given, with the seeds' optional `country` filter."""
        params = {"country": country} if country else {}
        return AccountReport(
            contracts=read_contracts(self._get(token, "contracts", params)),
            usage=read_usage(self._get(token, "statistics", params)),
            purchases=read_purchases(self._get(token, "purchaseorders", params)),
        )

    def _get(self, token: str, resource: str, params: dict[str, str]) -> Any:
        try:
            response = self._session.get(
                f"{self._base}{ADMIN}/{resource}",
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise Unavailable(f"Orange admin unreachable: {type(exc).__name__}") from exc
        if response.status_code == 401:
            raise TokenRejected(describe(response))
        if response.status_code != 200:
            raise Unavailable(describe(response))
        try:
            return response.json()
        except ValueError as exc:
            raise Unavailable(f"Orange admin answer is not JSON: {resource}") from exc
