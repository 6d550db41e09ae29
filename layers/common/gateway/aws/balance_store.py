"""Orange balance snapshots in DynamoDB, under `ACCOUNT#{account}`: a country's contracts, one
per offer, as `BALANCE#{country}#{offer}#{time}` and a `LATEST#{country}#{offer}` copy the
sender's holds read; and the bundles bought, `PURCHASE#{date}#{order id}`."""

from datetime import datetime
from typing import Any

from gateway.aws.dynamo import RETENTION_SECONDS, TableStore, from_item, to_item

LATEST = "LATEST#"
PURCHASE = "PURCHASE#"


def _latest_sk(country: str, offer: str) -> str:
    return f"{LATEST}{country}#{offer}"


class BalanceRepository(TableStore):
    """An account's balance snapshots per country and offer, and its purchase orders."""

    def put_snapshot(
        self, account: str, country: str, offer: str, taken: str, values: dict[str, Any]
    ) -> None:
        record = {"account": account, "country": country, "offer": offer, "takenAt": taken}
        for sk in (f"BALANCE#{country}#{offer}#{taken}", _latest_sk(country, offer)):
            self._put(account, sk, taken, {**values, **record})

    def latest_for(self, account: str, country: str, offer: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table,
            Key=to_item({"pk": f"ACCOUNT#{account}", "sk": _latest_sk(country, offer)}),
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def latest(self, account: str) -> list[dict[str, Any]]:
        """The latest snapshot of each country and offer. A country's copy written before
        snapshots were kept per offer (`LATEST#{country}`) is stale: left out."""
        return [
            item
            for item in self._query(account, LATEST)
            if item["sk"] == _latest_sk(item["country"], item.get("offer", ""))
        ]

    def put_purchases(self, account: str, taken: str, purchases: list[dict[str, Any]]) -> None:
        """Orange's purchase history as last read; an order read again is written over, and
        kept as long as Orange lists it (and RETENTION_SECONDS after)."""
        for purchase in purchases:
            sk = f"{PURCHASE}{purchase['purchaseDate']}#{purchase['id']}"
            self._put(account, sk, taken, {**purchase, "account": account, "takenAt": taken})

    def purchases(self, account: str) -> list[dict[str, Any]]:
        """The account's purchase orders, oldest first."""
        return self._query(account, PURCHASE)

    def _put(self, account: str, sk: str, taken: str, record: dict[str, Any]) -> None:
        expires = int(datetime.fromisoformat(taken).timestamp()) + RETENTION_SECONDS
        item = {**record, "pk": f"ACCOUNT#{account}", "sk": sk, "expiresAt": expires}
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def _query(self, account: str, prefix: str) -> list[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"ACCOUNT#{account}", ":prefix": prefix}),
        )
        return [from_item(item) for page in pages for item in page.get("Items", [])]
