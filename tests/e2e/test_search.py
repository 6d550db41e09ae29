"""Searching messages on the local stack through its API front, as a client calls it
(`GatewayClient.search`, `GET /messages`): by number given in another accepted form, by
campaign and status, by time, a page of two at a time with the cursor; and `cgw messages`."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cgw import cli
from cgw.gateway_client import GatewayClient, GatewayError
from infra.local.stack import LocalStack
from tests.e2e.support import local_stack, wait_for

pytestmark = pytest.mark.e2e

DELIVERED = "+2250700000031"
UNDELIVERED = "+2250700001199"  # the Orange simulator: ...99 ends DeliveryImpossible
# Each SMS: its number and campaign, in the order they are sent.
PLAN = {
    "a-spring-1": (DELIVERED, "spring"),
    "b-spring": (UNDELIVERED, "spring"),
    "a-autumn": (DELIVERED, "autumn"),
    "b-autumn": (UNDELIVERED, "autumn"),
    "a-spring-2": (DELIVERED, "spring"),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with local_stack(tmp_path_factory, "search") as running:
        yield running


@pytest.fixture(scope="module")
def sent(gateway: GatewayClient) -> dict[str, dict[str, Any]]:
    """The plan's SMS, each recorded at once through `POST /messages` one after the other (so
    each was created after the one before), followed until final: their status views."""
    suffix = uuid.uuid4().hex[:6]
    ids = {name: f"{name}-{suffix}" for name in PLAN}
    for name, (to, campaign) in PLAN.items():
        request = {"id": ids[name], "channel": "sms", "to": to, "text": "Hi", "campaign": campaign}
        assert gateway.submit([request])[0] == 202
    views: dict[str, dict[str, Any]] = {}

    def final() -> bool:
        for name, message_id in ids.items():
            views[name] = gateway.status(message_id) or {}
        return all(v.get("status") in ("delivered", "undelivered") for v in views.values())

    wait_for(final, "the searched SMS to end delivered or undelivered")
    return views


def found(gateway: GatewayClient, **query: str | int) -> list[str]:
    """The ids of the first page found."""
    return [view["id"] for view in gateway.search(**query)["messages"]]


def ids_of(sent: dict[str, dict[str, Any]], *names: str) -> list[str]:
    return [sent[name]["id"] for name in names]


def test_a_number_given_without_plus_finds_its_messages_newest_first(
    gateway: GatewayClient, sent: dict[str, dict[str, Any]]
) -> None:
    expected = ids_of(sent, "a-spring-2", "a-autumn", "a-spring-1")
    assert found(gateway, to=DELIVERED.removeprefix("+")) == expected
    assert found(gateway, to=DELIVERED) == expected  # + encoded in the query


def test_each_found_message_is_its_status_view_without_the_history(
    gateway: GatewayClient, sent: dict[str, dict[str, Any]]
) -> None:
    [view] = gateway.search(to=UNDELIVERED, campaign="autumn")["messages"]
    expected = gateway.status(sent["b-autumn"]["id"])
    assert expected is not None
    del expected["history"]
    assert view == expected


def test_a_campaign_and_a_status_find_what_matches_both(
    gateway: GatewayClient, sent: dict[str, dict[str, Any]]
) -> None:
    assert found(gateway, campaign="spring", status="delivered") == ids_of(
        sent, "a-spring-2", "a-spring-1"
    )
    assert found(gateway, campaign="spring", status="undelivered,failed") == ids_of(
        sent, "b-spring"
    )


def test_a_time_range_finds_what_was_created_within_it(
    gateway: GatewayClient, sent: dict[str, dict[str, Any]]
) -> None:
    since, until = sent["b-spring"]["createdAt"], sent["b-autumn"]["createdAt"]
    assert found(gateway, since=since, until=until) == ids_of(
        sent, "b-autumn", "a-autumn", "b-spring"
    )


def test_pages_of_two_follow_the_cursor_to_every_message_once(
    gateway: GatewayClient, sent: dict[str, dict[str, Any]]
) -> None:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = gateway.search(limit=2, since=sent["a-spring-1"]["createdAt"], cursor=cursor)
        pages.append([view["id"] for view in page["messages"]])
        cursor = page["cursor"]
        if cursor is None:
            break
    newest_first = sorted(sent.values(), key=lambda view: view["createdAt"], reverse=True)
    assert [i for page in pages for i in page] == [view["id"] for view in newest_first]
    assert all(len(page) <= 2 for page in pages)
    assert len(pages) >= 3


def test_a_bad_query_is_refused_with_the_reason(gateway: GatewayClient) -> None:
    with pytest.raises(GatewayError, match=r"HTTP 400.*status: 'lost' is not a status"):
        gateway.search(status="lost")
    with pytest.raises(GatewayError, match=r"HTTP 400.*cursor: not a cursor this API gave"):
        gateway.search(cursor="not-a-cursor")


def test_cgw_messages_lists_them_as_json_lines_or_a_table(
    stack: LocalStack, sent: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    local_dir = ["--local-dir", str(stack.options.state_dir)]
    command = ["messages", "--campaign", "spring", "--limit", "1", "--all", "--json"]
    assert cli.main([*local_dir, *command]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ids_of(sent, "a-spring-2", "b-spring", "a-spring-1")
    assert cli.main([*local_dir, "messages", "--to", UNDELIVERED, "--status", "undelivered"]) == 0
    table = capsys.readouterr().out
    assert sent["b-spring"]["id"] in table
    assert sent["b-autumn"]["id"] in table
    assert sent["a-spring-1"]["id"] not in table
