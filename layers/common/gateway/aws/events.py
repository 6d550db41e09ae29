"""The gateway's EventBridge bus: what applications subscribe to."""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from gateway.aws import clients

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "carrier-gateway"
PUT_EVENTS_MAX = 10  # entries per PutEvents call


class EventNotPublished(Exception):
    """EventBridge refused the event; the caller retries."""


def publish(bus_name: str, detail_type: str, detail: dict[str, Any]) -> None:
    [error] = publish_many(bus_name, detail_type, [detail])
    if error is not None:
        raise EventNotPublished(error)


def publish_many(
    bus_name: str, detail_type: str, details: Sequence[dict[str, Any]]
) -> list[str | None]:
    """Put the events, ten to a call; for each, None when EventBridge took it, else why not.
    A call that fails as a whole fails each of its events."""
    errors: list[str | None] = []
    for start in range(0, len(details), PUT_EVENTS_MAX):
        chunk = details[start : start + PUT_EVENTS_MAX]
        entries: list[PutEventsRequestEntryTypeDef] = [
            {
                "EventBusName": bus_name,
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":")),
            }
            for detail in chunk
        ]
        try:
            answer = clients.events().put_events(Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            errors += [f"{type(exc).__name__}: {exc}"] * len(chunk)
            continue
        errors += [
            f"{entry['ErrorCode']}: {entry.get('ErrorMessage')}" if "ErrorCode" in entry else None
            for entry in answer["Entries"]
        ]
    return errors
