"""Searching messages (`GET /messages`): the query read and refused, the index each search
reads, and its pages over the template's table in moto, newest first, never losing or repeating
a message across pages, whatever page ends mid-read or crosses a day."""

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from cfnlint.decode import decode

from cgw import cli
from cgw.messages import FILTERS
from functions.status import app as status_app
from gateway.aws.dynamo import RETENTION_SECONDS
from gateway.aws.inbound_store import InboundRepository
from gateway.aws.message_store import SEARCH_INDEXES, MessageRepository
from gateway.aws.queue_store import QueueStore
from gateway.core import search as search_module
from gateway.core.lifecycle import StatusUpdate
from gateway.core.model import Message, utc_now
from gateway.core.search import (
    MAX_SPAN,
    Resume,
    Search,
    SearchPage,
    SearchRefused,
    parse_search,
)
from gateway.core.status import Status
from gateway.core.store import By, IndexEntry, Partition, QueueEntry
from tests.support import TEMPLATE, FakeLambdaContext, event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
CIV = "+2250700000001"
SEN = "+221771234567"
DELIVERED, FAILED = Status.DELIVERED, Status.FAILED


# ------------------------------------------------------------------ the query


def parsed(**params: str) -> Search:
    return parse_search(params, now=NOW)[0]


def test_without_filters_the_last_30_days_are_searched_50_a_page() -> None:
    assert parsed() == Search(
        since="2026-11-03T18:00:00.000Z", until="2026-12-03T18:00:00.000Z", limit=50
    )


@pytest.mark.parametrize("given", ["2250700000001", " +2250700000001", "+2250700000001"])
def test_to_is_the_number_as_a_send_request_normalises_it(given: str) -> None:
    assert parsed(to=given).to == CIV


def test_filters_and_times_are_read() -> None:
    search = parsed(
        campaign="xmas:24",
        status="delivered, failed",
        since="2026-12-01T09:00:00+01:00",
        until="2026-12-02T00:00:00Z",
        limit="100",
    )
    assert search == Search(
        since="2026-12-01T08:00:00.000Z",
        until="2026-12-02T00:00:00.000Z",
        campaign="xmas:24",
        statuses=frozenset({Status.DELIVERED, Status.FAILED}),
        limit=100,
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": "x"}, "unknown query parameter(s): from"),
        ({"to": "0700000001"}, "to: must start with a country code"),
        ({"to": "abc"}, "to: must be an international number"),
        ({"status": "delivered,lost"}, "status: 'lost' is not a status"),
        ({"status": ""}, "status: '' is not a status"),
        ({"campaign": "a b"}, "campaign: must be 1-64"),
        ({"since": "2026-12-01T00:00:00"}, "since: must be an RFC 3339 date and time"),
        ({"until": "2026-12-01"}, "until: must be an RFC 3339 date and time"),
        ({"until": "2026-02-30T00:00:00Z"}, "until: is not a date and time"),
        ({"since": "2026-12-03T19:00:00Z"}, "since: must not be after until"),
        ({"since": "2026-06-03T17:59:59Z"}, "since: at most 180 days before until"),
        ({"limit": "0"}, "limit: must be a whole number from 1 to 100"),
        ({"limit": "101"}, "limit: must be a whole number from 1 to 100"),
        ({"limit": "ten"}, "limit: must be a whole number from 1 to 100"),
    ],
)
def test_a_bad_query_is_refused_with_the_reason(params: dict[str, str], reason: str) -> None:
    with pytest.raises(SearchRefused, match="^" + re.escape(reason)):
        parse_search(params, now=NOW)


def test_the_longest_range_is_how_long_messages_are_kept() -> None:
    assert timedelta(seconds=RETENTION_SECONDS) == MAX_SPAN
    parsed(since="2026-06-06T18:00:00Z")  # 180 days: accepted


def cursor_of(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


GOOD = {"by": "day", "key": "2026-12-02", "id": "m-1", "at": "2026-12-02T10:00:00.000Z"}


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        cursor_of(["by", "key"]),
        cursor_of({**GOOD, "extra": 1}),
        cursor_of({**GOOD, "by": "sender"}),
        cursor_of({**GOOD, "id": 7}),
        cursor_of({**GOOD, "key": "2026-12-01"}),  # its time is on another day
    ],
)
def test_a_cursor_this_api_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(SearchRefused, match=r"^cursor: "):
        parse_search({"cursor": cursor}, now=NOW)


@pytest.mark.parametrize(
    ("params", "cursor"),
    [
        ({"to": SEN}, {**GOOD, "by": "to", "key": CIV}),  # another number's
        ({"to": CIV}, {**GOOD, "by": "campaign", "key": "xmas"}),  # another index's
        ({"campaign": "xmas"}, {**GOOD, "by": "campaign", "key": "easter"}),
        ({"since": "2026-12-03T00:00:00Z"}, GOOD),  # a day out of the range
        ({"until": "2026-12-02T09:00:00Z"}, GOOD),  # after its until
    ],
)
def test_a_cursor_of_another_search_is_refused(
    params: dict[str, str], cursor: dict[str, str]
) -> None:
    with pytest.raises(SearchRefused, match=r"^cursor: it belongs to another search"):
        parse_search({**params, "cursor": cursor_of(cursor)}, now=NOW)


def test_a_cursor_comes_back_as_it_was_given() -> None:
    resume = Resume(Partition(By.DAY, "2026-12-02"), IndexEntry("m-1", GOOD["at"]))
    assert parse_search({"cursor": resume.cursor()}, now=NOW)[1] == resume
    assert "=" not in resume.cursor()


# ------------------------------------------------------------------ which index


def test_a_number_is_searched_in_its_own_index_whatever_else_is_given() -> None:
    search = parsed(to=CIV, campaign="xmas")
    assert search.partitions() == [Partition(By.RECIPIENT, CIV)]
    assert search.filters_after_index  # the campaign: read from the messages


def test_a_campaign_is_searched_in_its_own_index() -> None:
    assert parsed(campaign="xmas").partitions() == [Partition(By.CAMPAIGN, "xmas")]
    assert not parsed(campaign="xmas").filters_after_index
    assert parsed(campaign="xmas", status="sent").filters_after_index


def test_otherwise_each_day_from_until_back_to_since() -> None:
    search = parsed(since="2026-11-29T23:00:00-02:00", until="2026-12-02T00:30:00+01:00")
    assert [p.key for p in search.partitions()] == [
        "2026-12-01",  # until is 2026-12-01T23:30Z
        "2026-11-30",  # since is 2026-11-30T01:00Z
    ]
    assert {p.by for p in search.partitions()} == {By.DAY}


# ------------------------------------------------------------------ what is stored

pytest_aws = pytest.mark.usefixtures("aws")


def message(
    message_id: str,
    at: str,
    *,
    to: str = CIV,
    status: Status = Status.ACCEPTED,
    campaign: str | None = None,
) -> Message:
    update = StatusUpdate(status, at, "gateway")
    return Message.new(id=message_id, channel="sms", to=to, update=update, campaign=campaign)


def item(message_id: str) -> dict[str, Any]:
    answer = boto3.client("dynamodb").get_item(
        TableName="messages", Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}}
    )
    return dict(answer["Item"])


def index_pks(index: str) -> set[str]:
    items = boto3.client("dynamodb").scan(TableName="messages", IndexName=index)["Items"]
    return {i["pk"]["S"] for i in items}


@pytest_aws
def test_a_message_is_stored_with_its_number_and_day() -> None:
    MessageRepository("messages").create(message("m-1", "2026-12-03T23:59:59.999Z"))
    stored = item("m-1")
    assert stored["to"] == {"S": CIV}
    assert stored["createdDay"] == {"S": "2026-12-03"}


@pytest_aws
def test_a_message_without_a_number_is_stored_outside_the_number_index() -> None:
    """An index key cannot be empty: a refused request's record (no number) is kept anyway."""
    store = MessageRepository("messages")
    assert store.create(message("refused", "2026-12-03T10:00:00.000Z", to=""))
    stored = store.get("refused")
    assert stored is not None
    assert stored.to == ""
    assert index_pks("ByRecipient") == set()
    assert index_pks("ByDay") == {"MSG#refused"}


def test_the_search_indexes_hold_keys_only_in_the_template() -> None:
    """A message's status changes rewrite the whole item; with keys only (which never
    change), none of them writes to a search index."""
    template, errors = decode(str(TEMPLATE))
    assert template is not None, errors
    table = template["Resources"]["MessagesTable"]["Properties"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    for name, attribute in SEARCH_INDEXES.values():
        assert indexes[name]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
        assert [k["AttributeName"] for k in indexes[name]["KeySchema"]] == [
            attribute,
            "createdAt",
        ]


@pytest_aws
def test_only_messages_are_in_the_search_indexes() -> None:
    store = MessageRepository("messages")
    first = message("m-1", "2026-12-03T10:00:00.000Z", campaign="xmas")
    store.create(first)
    sent = replace(first, provider="orange", provider_ref="ref-1")
    store.save_with_ref(first, sent)
    receipt = StatusUpdate(Status.DELIVERED, "2026-12-03T10:00:01.000Z", "orange")
    store.keep_early("orange", "ref-2", receipt, "2026-12-03T10:00:01.000Z")
    store.mark_cancelled("xmas", "2026-12-03T10:00:02.000Z")
    lane = QueueEntry("orange-sms:default", "m-1", "1#2026-12-03T10:00:00.000Z#m-1")
    QueueStore("messages").push(lane)
    InboundRepository("messages").create(
        "mo-1", {"id": "mo-1", "receivedAt": "2026-12-03T10:00:03.000Z"}
    )
    for name, _ in SEARCH_INDEXES.values():
        assert index_pks(name) == {"MSG#m-1"}, name


# ------------------------------------------------------------------ pages


class OneKeyACall:
    """DynamoDB answering one key of each BatchGetItem, the others unprocessed (throttled)."""

    def __init__(self) -> None:
        self.dynamodb = boto3.client("dynamodb")
        self.asked: list[int] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems["messages"]["Keys"]
        self.asked.append(len(keys))
        answer = dict(
            self.dynamodb.batch_get_item(
                RequestItems={"messages": {"Keys": keys[:1], "ConsistentRead": True}}
            )
        )
        answer["UnprocessedKeys"] = {"messages": {"Keys": keys[1:]}} if keys[1:] else {}
        return answer


@pytest_aws
def test_messages_left_unread_are_asked_for_again(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr("gateway.aws.message_store.time.sleep", waits.append)
    seed(*(message(f"m-{n}", at(2, n)) for n in range(3)))
    client = OneKeyACall()
    store = MessageRepository("messages", client=cast("DynamoDBClient", client))
    assert set(store.messages(["m-0", "m-1", "m-2", "gone"])) == {"m-0", "m-1", "m-2"}
    assert client.asked == [4, 3, 2, 1]
    assert waits == [0.05, 0.1, 0.2]
    with pytest.raises(RuntimeError, match="left keys unread 5 times"):
        store.messages([f"m-{n}" for n in range(6)])


class CountingIndex:
    """The repository, counting the messages it reads."""

    def __init__(self) -> None:
        self.repository = MessageRepository("messages")
        self.read: list[str] = []

    def entries(
        self, partition: Partition, since: str, until: str, after: IndexEntry | None, limit: int
    ) -> tuple[list[IndexEntry], bool]:
        return self.repository.entries(partition, since, until, after, limit)

    def messages(self, message_ids: Sequence[str]) -> dict[str, Message]:
        self.read += message_ids
        return self.repository.messages(message_ids)


def seed(*messages: Message) -> None:
    store = MessageRepository("messages")
    for each in messages:
        assert store.create(each)


def every_page(search: Search, index: Any = None) -> list[SearchPage]:
    index = index or MessageRepository("messages")
    pages = [search.page(index)]
    while pages[-1].resume is not None:
        assert len(pages) < 50, "the cursor never ends"
        # Through the cursor's text, as a caller gives it back.
        resume = Resume.from_cursor(pages[-1].resume.cursor())
        search.check(resume)
        pages.append(search.page(index, resume))
    return pages


def ids(pages: list[SearchPage]) -> list[str]:
    return [m.id for page in pages for m in page.messages]


def at(day: int, hour: int, minute: int = 0) -> str:
    return f"2026-12-{day:02d}T{hour:02d}:{minute:02d}:00.000Z"


WEEK = {"since": "2026-11-28T00:00:00Z", "until": "2026-12-04T00:00:00Z"}


@pytest_aws
def test_a_number_is_found_newest_first_in_any_accepted_form() -> None:
    seed(
        message("civ-old", at(1, 9)),
        message("sen", at(1, 10), to=SEN),
        message("civ-new", at(2, 9)),
    )
    [page] = every_page(parsed(to="2250700000001", **WEEK))
    assert [m.id for m in page.messages] == ["civ-new", "civ-old"]
    assert page.resume is None


@pytest_aws
def test_a_campaign_and_a_status_keep_only_what_matches_both() -> None:
    seed(
        message("x-ok", at(1, 9), campaign="xmas", status=Status.DELIVERED),
        message("x-fail", at(1, 10), campaign="xmas", status=Status.FAILED),
        message("e-ok", at(1, 11), campaign="easter", status=Status.DELIVERED),
        message("x-ok2", at(2, 9), campaign="xmas", status=Status.DELIVERED),
    )
    search = parsed(campaign="xmas", status="delivered", **WEEK)
    assert ids(every_page(search)) == ["x-ok2", "x-ok"]
    by_number = parsed(to=CIV, campaign="xmas", status="delivered,failed", **WEEK)
    assert ids(every_page(by_number)) == ["x-ok2", "x-fail", "x-ok"]


@pytest_aws
def test_the_time_range_bounds_what_is_found() -> None:
    seed(*(message(f"m-{hour}", at(2, hour)) for hour in range(8, 13)))
    search = parsed(since=at(2, 9), until=at(2, 11))  # both ends included
    assert ids(every_page(search)) == ["m-11", "m-10", "m-9"]


@pytest_aws
def test_pages_of_two_across_days_lose_and_repeat_nothing() -> None:
    # Days 29 Nov to 3 Dec, two of them empty; three messages a day otherwise, and one on
    # another number (the day index holds it too).
    created = [
        message(f"d{day}-{hour}", at(day, hour), to=SEN if hour == 11 else CIV)
        for day in (1, 3)
        for hour in (9, 10, 11)
    ] + [message("n30", "2026-11-30T12:00:00.000Z")]
    seed(*created)
    pages = every_page(replace(parsed(**WEEK), limit=2))
    newest_first = sorted(created, key=lambda m: m.created_at, reverse=True)
    assert ids(pages) == [m.id for m in newest_first]
    assert all(len(page.messages) <= 2 for page in pages)
    assert pages[-1].resume is None


@pytest_aws
def test_a_page_that_ends_mid_read_resumes_after_its_last_message() -> None:
    """With a status filter, one index read returns a page's worth of entries and messages
    are read in batches; a page ends at the entry that gave its last message, even mid-batch,
    and the next page starts right after it, not after what was read."""
    newest_first = ["f1", "d1", "d2", "d3", "d4", "f2", "d5"]
    seed(
        *(
            message(name, at(2, 12, 59 - n), status=FAILED if name[0] == "f" else DELIVERED)
            for n, name in enumerate(newest_first)
        )
    )
    search = replace(parsed(status="delivered", **WEEK), limit=2)
    index = CountingIndex()
    first = search.page(index)
    assert [m.id for m in first.messages] == ["d1", "d2"]
    # Half of the first two were kept, so two more were read for the one still wanted: the
    # page ended at d2, with d3 read and not consumed.
    assert index.read == ["f1", "d1", "d2", "d3"]
    pages = every_page(search)
    assert [[m.id for m in page.messages] for page in pages] == [
        ["d1", "d2"],
        ["d3", "d4"],
        ["d5"],
    ]


@pytest_aws
def test_a_page_ends_early_when_its_reads_run_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter that leaves out most of what is read ends the page after READ_BUDGET reads,
    with fewer messages and a cursor to go on."""
    monkeypatch.setattr(search_module, "READ_BUDGET", 3)
    seed(*(message(f"m-{n}", at(2, n), status=Status.FAILED) for n in range(7)))
    seed(message("old", at(1, 9), status=Status.DELIVERED))
    pages = every_page(parsed(status="delivered", **WEEK))
    assert [len(page.messages) for page in pages] == [0, 0, 1]
    assert ids(pages) == ["old"]


@pytest_aws
def test_a_cursor_older_than_since_ends_the_search() -> None:
    seed(message("m-1", at(2, 9)))
    search = parsed(since=at(2, 10), until=at(3, 0))
    resume = Resume(Partition(By.DAY, "2026-12-02"), IndexEntry("m-1", at(2, 9)))
    assert search.page(MessageRepository("messages"), resume) == SearchPage([], None)


@pytest_aws
def test_an_indexed_message_that_is_gone_is_skipped() -> None:
    seed(message("kept", at(2, 9)), message("gone", at(2, 10)))
    boto3.client("dynamodb").delete_item(
        TableName="messages", Key={"pk": {"S": "MSG#gone"}, "sk": {"S": "MSG"}}
    )
    assert ids(every_page(parsed(**WEEK))) == ["kept"]


# ------------------------------------------------------------------ the API


def get(params: dict[str, str] | None) -> tuple[int, Any]:
    request = event("api_get_message.json", routeKey="GET /messages", rawPath="/v1/messages")
    request["requestContext"]["routeKey"] = "GET /messages"
    request["requestContext"]["http"]["path"] = "/v1/messages"
    request.pop("pathParameters")
    if params:
        request["queryStringParameters"] = params
        request["rawQueryString"] = "&".join(f"{k}={v}" for k, v in params.items())
    response = status_app.handler(request, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest_aws
def test_the_api_answers_a_page_of_status_views_and_the_cursor() -> None:
    seed(*(message(f"m-{n}", at(2, n), campaign="xmas") for n in range(3)))
    status, body = get({"campaign": "xmas", "limit": "2", **WEEK})
    assert status == 200
    assert [view["id"] for view in body["messages"]] == ["m-2", "m-1"]
    expected = message("m-2", at(2, 2), campaign="xmas").public_view()
    del expected["history"]
    assert body["messages"][0] == expected
    status, rest = get({"campaign": "xmas", "limit": "2", **WEEK, "cursor": body["cursor"]})
    assert (status, [view["id"] for view in rest["messages"]]) == (200, ["m-0"])
    assert rest["cursor"] is None


@pytest_aws
def test_the_api_searches_the_last_30_days_without_parameters() -> None:
    seed(message("now", utc_now()))
    status, body = get(None)
    assert (status, [view["id"] for view in body["messages"]]) == (200, ["now"])


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"colour": "red"}, "unknown query parameter(s): colour"),
        ({"cursor": "garbage"}, "cursor: not a cursor this API gave"),
        ({"limit": "500"}, "limit: must be a whole number from 1 to 100"),
    ],
)
@pytest_aws
def test_the_api_refuses_a_bad_query_with_400(params: dict[str, str], reason: str) -> None:
    assert get(params) == (400, {"error": reason})


# ------------------------------------------------------------------ cgw messages


@pytest.mark.parametrize(
    ("argv", "as_json"),
    [
        (["messages"], False),
        (["messages", "--json"], True),
        (["--json", "messages"], True),  # the global option, not overridden by the command's
    ],
)
def test_cgw_messages_takes_json_before_or_after_the_command(
    argv: list[str], as_json: bool
) -> None:
    assert cli._parser().parse_args(argv).json is as_json


def test_cgw_messages_passes_its_filters_to_the_api() -> None:
    args = cli._parser().parse_args(
        ["messages", "--to", "2250700000001", "--status", "sent,failed", "--limit", "5"]
    )
    assert {name: getattr(args, name) for name in FILTERS} == {
        "to": "2250700000001",
        "campaign": None,
        "status": "sent,failed",
        "since": None,
        "until": None,
        "limit": 5,
    }
