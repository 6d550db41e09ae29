"""The gateway's EventBridge bus: what applications subscribe to."""

import json
from typing import Any

from gateway import aws_clients

SOURCE = "carrier-gateway"


class EventNotPublished(Exception):
    """EventBridge refused the event; the caller retries."""


def publish(bus_name: str, detail_type: str, detail: dict[str, Any]) -> None:
    answer = aws_clients.events().put_events(
        Entries=[
            {
                "EventBusName": bus_name,
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":")),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise EventNotPublished(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
