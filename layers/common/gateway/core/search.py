"""Searching messages (`GET /messages`, `cgw messages`): the filters a query string gives, the
index partitions that hold the answer, and the walk through them a page at a time, newest
first.

Which index: `to` -> the recipient's; else `campaign` -> the campaign's; else the days from
`until` back to `since`, one partition each. Each is read newest first between `since` and
`until`, the messages its entries name are read, and the filters the index could not apply
(`status`; `campaign` beside `to`) keep or leave out each. A page ends at the entry that gave
its last message and its cursor resumes after that entry, so a page that ends in the middle of
what one index read returned neither loses nor repeats a message.
"""

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.core.model import Message, rfc3339, utc_text
from gateway.core.send_request import CAMPAIGN_PATTERN, normalise_msisdn
from gateway.core.status import Status
from gateway.core.store import By, IndexEntry, MessageIndex, Partition, utc_day

PARAMETERS = ("to", "campaign", "status", "since", "until", "limit", "cursor")
MAX_LIMIT = 100
DEFAULT_LIMIT = 50
DEFAULT_SPAN = timedelta(days=30)
# Messages are kept 180 days (their TTL, `aws.dynamo.RETENTION_SECONDS`): a longer range
# would read empty days for nothing.
MAX_SPAN = timedelta(days=180)
# Messages read for one page at most: a filter that leaves out most of what it reads ends the
# page early, with a cursor, rather than one request reading without bound.
READ_BUDGET = 1000
_CURSOR_FIELDS = {"by", "key", "id", "at"}


class SearchRefused(ValueError):
    """The query cannot be run; the reason says why, for the caller."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Where the next page starts: after `after`, in `partition`."""

    partition: Partition
    after: IndexEntry

    def cursor(self) -> str:
        """Opaque to the caller: base64url of the JSON, without padding."""
        data = {
            "by": str(self.partition.by),
            "key": self.partition.key,
            "id": self.after.message_id,
            "at": self.after.created_at,
        }
        text = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def from_cursor(cls, cursor: str) -> "Resume":
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if set(data) != _CURSOR_FIELDS:
                raise ValueError("not the cursor's fields")
            return cls(
                Partition(By(data["by"]), _text(data["key"])),
                IndexEntry(_text(data["id"]), _text(data["at"])),
            )
        except (ValueError, TypeError, binascii.Error) as exc:
            raise SearchRefused("cursor: not a cursor this API gave") from exc


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not a text")
    return value


@dataclass(frozen=True, slots=True)
class SearchPage:
    messages: list[Message]
    resume: Resume | None  # None: the search is over


@dataclass(frozen=True, slots=True)
class Search:
    since: str  # as utc_text writes it, like createdAt: compared as text
    until: str
    to: str | None = None
    campaign: str | None = None
    statuses: frozenset[Status] = frozenset()
    limit: int = DEFAULT_LIMIT

    def partitions(self) -> list[Partition]:
        """The index partitions holding the answer, newest first."""
        if self.to is not None:
            return [Partition(By.RECIPIENT, self.to)]
        if self.campaign is not None:
            return [Partition(By.CAMPAIGN, self.campaign)]
        first = date.fromisoformat(utc_day(self.since))
        last = date.fromisoformat(utc_day(self.until))
        days = (last - timedelta(days=n) for n in range((last - first).days + 1))
        return [Partition(By.DAY, day.isoformat()) for day in days]

    def keeps(self, message: Message) -> bool:
        """Whether the message passes every filter (the index applied its own already)."""
        return (
            (not self.statuses or message.status in self.statuses)
            and self.campaign in (None, message.campaign)
            and self.to in (None, message.to)
        )

    @property
    def filters_after_index(self) -> bool:
        """Whether some messages read may be left out, the index not knowing their filter."""
        return bool(self.statuses) or (self.to is not None and self.campaign is not None)

    def page(self, index: MessageIndex, resume: Resume | None = None) -> SearchPage:
        """The next page: up to `limit` messages, newest first, after `resume` if given."""
        partitions = self.partitions()
        start = 0
        if resume is not None:
            if resume.after.created_at < self.since:
                return SearchPage([], None)  # it ended past the oldest this search reaches
            start = partitions.index(resume.partition)
        walk = _Walk(self, index, resume.after if resume else None)
        for position in range(start, len(partitions)):
            stopped = walk.through(partitions[position])
            if stopped is not None:
                more = stopped.more or position < len(partitions) - 1
                return SearchPage(walk.found, stopped.resume if more else None)
        return SearchPage(walk.found, None)

    def check(self, resume: Resume) -> None:
        """SearchRefused unless the cursor belongs to this search: the same index key, and
        a place within `until` (one from before `since` ends the search)."""
        if resume.partition not in self.partitions() or resume.after.created_at > self.until:
            raise SearchRefused("cursor: it belongs to another search (different filters)")
        if resume.partition.by is By.DAY and utc_day(resume.after.created_at) != (
            resume.partition.key
        ):
            raise SearchRefused("cursor: not a cursor this API gave")


@dataclass(frozen=True, slots=True)
class _Stop:
    resume: Resume
    more: bool  # entries may follow in the same partition


class _Walk:
    """One page's reading: index entries in order, their messages read in batches, each entry
    consumed in turn until the page is full; the next page resumes after the last consumed."""

    def __init__(self, search: Search, index: MessageIndex, after: IndexEntry | None) -> None:
        self._search = search
        self._index = index
        self._after = after
        self._budget = READ_BUDGET
        self._read = 0
        self.found: list[Message] = []

    def through(self, partition: Partition) -> _Stop | None:
        """Consume the partition from where the walk is; a stop when the page is done."""
        search = self._search
        more = True
        while more:
            # The messages still wanted, unless some read may be left out: then a full page
            # of keys (cheap), whose messages are read in batches as they are consumed.
            wanted = search.limit - len(self.found)
            keys = MAX_LIMIT if search.filters_after_index else wanted
            entries, more = self._index.entries(
                partition, search.since, search.until, self._after, keys
            )
            while entries:
                size = self._batch()
                batch, entries = entries[:size], entries[size:]
                last, full = self._consume(batch)
                if full or not self._budget:
                    left = bool(entries) or last != batch[-1]
                    return _Stop(Resume(partition, last), more or left)
        self._after = None  # the next partition starts at its newest
        return None

    def _batch(self) -> int:
        """Messages to read next: as many as should give the ones still wanted at the share
        kept so far (all of them without a filter after the index), so that a sparse filter
        takes few requests, and a page rarely reads past its last message."""
        wanted = self._search.limit - len(self.found)
        if self._read:
            wanted = math.ceil(wanted * self._read / max(len(self.found), 1))
        return min(wanted, MAX_LIMIT, self._budget)

    def _consume(self, batch: list[IndexEntry]) -> tuple[IndexEntry, bool]:
        """Read the batch's messages and consume its entries in order, until the page is full
        (the entries after the one that filled it stay unconsumed): the last consumed, and
        whether the page is full."""
        messages = self._index.messages([entry.message_id for entry in batch])
        self._read += len(batch)
        self._budget -= len(batch)
        for entry in batch:
            self._after = entry
            message = messages.get(entry.message_id)  # gone: expired since it was indexed
            if message is not None and self._search.keeps(message):
                self.found.append(message)
                if len(self.found) == self._search.limit:
                    return entry, True
        return batch[-1], False


def parse_search(params: Mapping[str, str], now: datetime) -> tuple[Search, Resume | None]:
    """The search a query string asks for, and where it resumes; SearchRefused with the reason
    when a parameter is unknown or invalid."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise SearchRefused(f"unknown query parameter(s): {', '.join(unknown)}")
    until = _moment("until", params["until"]) if "until" in params else now
    since = _moment("since", params["since"]) if "since" in params else until - DEFAULT_SPAN
    if since > until:
        raise SearchRefused("since: must not be after until")
    if until - since > MAX_SPAN:
        raise SearchRefused(
            f"since: at most {MAX_SPAN.days} days before until (how long messages are kept)"
        )
    search = Search(
        since=utc_text(since),
        until=utc_text(until),
        to=_recipient(params["to"]) if "to" in params else None,
        campaign=_campaign(params["campaign"]) if "campaign" in params else None,
        statuses=_statuses(params["status"]) if "status" in params else frozenset(),
        limit=_limit(params["limit"]) if "limit" in params else DEFAULT_LIMIT,
    )
    if "cursor" not in params:
        return search, None
    resume = Resume.from_cursor(params["cursor"])
    search.check(resume)
    return search, resume


def _moment(name: str, value: str) -> datetime:
    try:
        return rfc3339(value)
    except ValueError as exc:
        raise SearchRefused(f"{name}: {exc} (in a URL, + is %2B)") from exc


def _recipient(value: str) -> str:
    try:
        return normalise_msisdn(value)
    except ValueError as exc:
        raise SearchRefused(f"to: {exc}") from exc


def _campaign(value: str) -> str:
    if not re.match(CAMPAIGN_PATTERN, value):
        raise SearchRefused("campaign: must be 1-64 of A-Z a-z 0-9 . _ : -")
    return value


def _statuses(value: str) -> frozenset[Status]:
    names = [name.strip() for name in value.split(",")]
    known = [str(status) for status in Status]
    wrong = [name for name in names if name not in known]
    if wrong:
        raise SearchRefused(
            f"status: {', '.join(map(repr, wrong))} is not a status;"
            f" one or several (comma separated) of {', '.join(known)}"
        )
    return frozenset(Status(name) for name in names)


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise SearchRefused(f"limit: must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def summary(message: Message) -> dict[str, Any]:
    """A message as a search lists it: its status view without the history."""
    view = message.public_view()
    del view["history"]
    return view
