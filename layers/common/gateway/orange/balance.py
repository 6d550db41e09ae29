"""Hourly balance snapshots: per Orange account, country and offer (SMS_OCB, SMS_OCB2), the
units left, the contract's status and expiry and the SMS used, kept in DynamoDB
(`ACCOUNT#{account}` / `BALANCE#{country}#{offer}#{time}`, plus `LATEST#{country}#{offer}`)
with the account's purchase orders (`PURCHASE#{date}#{id}`), and published as metrics the
template's alarms watch (units under a threshold, expiry within days)."""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from gateway.aws.balance_store import BalanceRepository
from gateway.core.carrier_errors import CarrierError
from gateway.observability import METRICS_NAMESPACE, logger
from gateway.orange.admin import AccountReport, OrangeAdmin, Purchase
from gateway.orange.client import TokenRejected
from gateway.orange.tokens import TokenStore


def days_to(expires: str, now: datetime) -> float | None:
    try:
        moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round((moment - now).total_seconds() / 86400, 2)


def _country_metric(name: str, value: float, country: str) -> None:
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"country": country},
    ):
        pass


class BalanceSnapshots:
    def __init__(self, *, admin: OrangeAdmin, repository: BalanceRepository) -> None:
        self._admin = admin
        self._repo = repository

    def snapshot(self, account: str, tokens: TokenStore) -> int:
        """One account's contracts (a country's offers each) recorded; how many."""
        token = tokens.current().value
        try:
            report = self._admin.report(token)
        except TokenRejected:
            report = self._admin.report(tokens.refresh(stale=token).value)
        self._record(account, report)
        return len(report.contracts)

    def snapshot_all(self, stores: dict[str, TokenStore]) -> dict[str, str]:
        outcomes = {}
        for account, tokens in stores.items():
            try:
                outcomes[account] = f"{self.snapshot(account, tokens)} contracts"
            except CarrierError as exc:
                outcomes[account] = f"failed: {exc}"
                logger.error("balance snapshot failed", account=account, reason=str(exc))
        return outcomes

    def _record(self, account: str, report: AccountReport) -> None:
        now = datetime.now(UTC)
        taken = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        for contract in report.contracts:
            days = days_to(contract.expires, now)
            self._repo.put_snapshot(
                account,
                contract.country,
                contract.offer,
                taken,
                {
                    "units": contract.units,
                    "status": contract.status,
                    "expires": contract.expires,
                    "daysToExpiry": str(days) if days is not None else None,
                    "used": report.usage.get((contract.country, contract.offer), 0),
                },
            )
            # One metric per contract under its country's dimension, apart from the
            # invocation's metrics; the alarms and the dashboard take a country's minimum.
            _country_metric("AvailableUnits", contract.units, contract.country)
            if days is not None:
                _country_metric("DaysToExpiry", days, contract.country)
        self._repo.put_purchases(account, taken, [_purchase_record(p) for p in report.purchases])
        logger.info(
            "balance snapshot",
            account=account,
            contracts=len(report.contracts),
            purchases=len(report.purchases),
        )


def _purchase_record(purchase: Purchase) -> dict[str, object]:
    """A purchase order; its date, bundle, price and currency named as the MEA page does."""
    return {
        "id": purchase.id,
        "country": purchase.country,
        "offer": purchase.offer,
        "purchaseDate": purchase.purchase_date,
        "bundleId": purchase.bundle_id,
        "bundleDescription": purchase.bundle_description,
        "price": purchase.price,
        "currency": purchase.currency,
    }
