"""Orange's SMS account administration (seeds, "View your SMS balance" and the next two):
contracts, usage statistics and purchase orders, read into one shape whichever of the two
response shapes the API answers (the MEA page's arrays, the Mali page's `partnerContracts`
and `purchaseOrders`). A country may have a contract per offer: `SMS_OCB`, and `SMS_OCB2` for
the on-net SMS sent with `resource_type_parameter_management=SMS_OCB2`."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from gateway.carrier_http import HttpApi
from gateway.core.carrier_errors import Unavailable
from gateway.orange.client import ON_NET_OFFER, STANDARD_OFFER, TokenRejected, describe

ADMIN = "/sms/admin/v1"


def offer_for(on_net: bool) -> str:
    """The offer whose bundle a send uses: on-net SMS (`onNet`) are sent with SMS_OCB2."""
    return ON_NET_OFFER if on_net else STANDARD_OFFER


@dataclass(frozen=True, slots=True)
class ContractBalance:
    country: str  # ISO3
    units: int
    status: str  # ACTIVE, EXPIRED, or "" when the shape does not say
    expires: str  # as Orange writes it
    offer: str


@dataclass(frozen=True, slots=True)
class Purchase:
    """One bundle bought; the fields are named as the MEA page names them."""

    id: str
    country: str  # ISO3
    offer: str
    purchase_date: str  # as Orange writes it
    bundle_id: str
    bundle_description: str
    price: str  # the amount as a decimal text ("1600"): exact, whatever the currency
    currency: str


@dataclass(frozen=True, slots=True)
class AccountReport:
    contracts: list[ContractBalance]
    usage: dict[tuple[str, str], int]  # (ISO3, offer) -> SMS sent, over all applications
    purchases: list[Purchase]


def read_contracts(payload: Any) -> list[ContractBalance]:
    if isinstance(payload, list):  # MEA: one element per country
        return [
            ContractBalance(
                country=str(c.get("country", "")),
                units=int(c.get("availableUnits", 0)),
                status=str(c.get("status", "")),
                expires=str(c.get("expirationDate", "")),
                offer=str(c.get("offerName") or STANDARD_OFFER),
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
            offer=str(sc.get("service") or service.get("service") or STANDARD_OFFER),
        )
        for service in contracts
        for sc in service.get("serviceContracts", [])
    ]


def read_usage(payload: Any) -> dict[tuple[str, str], int]:
    usage: dict[tuple[str, str], int] = {}
    statistics = (payload or {}).get("partnerStatistics", {}).get("statistics", [])
    for service in statistics:
        offer = str(service.get("service") or STANDARD_OFFER)
        for country in service.get("serviceStatistics", []):
            key = (str(country.get("country", "")), offer)
            used = sum(int(app.get("usage", 0)) for app in country.get("countryStatistics", []))
            usage[key] = usage.get(key, 0) + used
    return usage


def read_purchases(payload: Any) -> list[Purchase]:
    if isinstance(payload, list):  # MEA
        return [_mea_purchase(order) for order in payload if isinstance(order, dict)]
    orders = (payload or {}).get("purchaseOrders", [])
    return [_mali_purchase(order) for order in orders if isinstance(order, dict)]


def _mea_purchase(order: dict[str, Any]) -> Purchase:
    return Purchase(
        id=str(order.get("id", "")),
        country=str(order.get("country", "")),
        offer=str(order.get("offerName") or STANDARD_OFFER),
        purchase_date=str(order.get("purchaseDate", "")),
        bundle_id=str(order.get("bundleId", "")),
        bundle_description=str(order.get("bundleDescription", "")),
        price=_amount(order.get("price")),
        currency=str(order.get("currency", "")),
    )


def _mali_purchase(order: dict[str, Any]) -> Purchase:
    """The Mali page's order: what was paid, where and for which offer, is under
    `orderExecutioninformation` (`date`, `amount`, `currency`, `service`, `country`)."""
    execution = order.get("orderExecutioninformation") or {}
    return Purchase(
        id=str(order.get("purchaseOrderId", "")),
        country=str(execution.get("country", "")),
        offer=str(execution.get("service") or STANDARD_OFFER),
        purchase_date=str(execution.get("date", "")),
        bundle_id=str(order.get("bundleId", "")),
        bundle_description=str(order.get("bundleDescription", "")),
        price=_amount(execution.get("amount")),
        currency=str(execution.get("currency", "")),
    )


def _amount(value: Any) -> str:
    """1600.00 as "1600", 12.5 as "12.5": a JSON number as exact decimal text, "" if none."""
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except InvalidOperation:
        return ""


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
