"""Hourly balance snapshots: per Orange account and country, the units left, the contract's
status and expiry and the SMS used, kept in DynamoDB (`ACCOUNT#{account}` /
`BALANCE#{country}#{time}`, plus `LATEST#{country}`) and published as metrics the template's
alarms watch (units under a threshold, expiry within days)."""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from gateway.aws.balance_store import BalanceRepository
from gateway.core.carrier_errors import CarrierError
from gateway.observability import METRICS_NAMESPACE, logger
from gateway.orange.admin import AccountReport, OrangeAdmin
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
        """One account's countries recorded; how many."""
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
                outcomes[account] = f"{self.snapshot(account, tokens)} countries"
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
                taken,
                {
                    "units": contract.units,
                    "status": contract.status,
                    "expires": contract.expires,
                    "daysToExpiry": str(days) if days is not None else None,
                    "offer": contract.offer,
                    "used": report.usage.get(contract.country, 0),
                },
            )
            # One metric per country: its own dimension, apart from the invocation's metrics.
            _country_metric("AvailableUnits", contract.units, contract.country)
            if days is not None:
                _country_metric("DaysToExpiry", days, contract.country)
        logger.info("balance snapshot", account=account, countries=len(report.contracts))
