"""In-memory stand-ins for the outside systems, for unit tests."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from gateway.core.lifecycle import HISTORY_LIMIT, StatusUpdate, advance
from gateway.core.model import Message
from gateway.core.status import FINAL, Status
from gateway.core.store import QueueEntry
from gateway.orange.client import AccessToken, OutboundSms

Step = Callable[[OutboundSms], str] | Exception


@dataclass
class FakeOrange:
    """Answers sends from a script (an exception to raise, or a function giving the id);
    once the script runs out every send succeeds."""

    script: list[Step] = field(default_factory=list)
    sent: list[tuple[str, OutboundSms]] = field(default_factory=list)
    token_requests: int = 0
    lifetime: float = 3600.0

    def send_sms(self, token: str, sms: OutboundSms) -> str:
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        resource_id = step(sms) if step else f"res-{len(self.sent) + 1}"
        self.sent.append((token, sms))
        return resource_id

    def fetch_token(self, client_id: str, client_secret: str) -> AccessToken:
        assert (client_id, client_secret) == ("id", "secret")
        self.token_requests += 1
        return AccessToken(
            f"token-{self.token_requests}", time.time() + self.lifetime, self.lifetime
        )


@dataclass
class MemoryMessageStore:
    """`gateway.core.store.MessageStore` in memory, with the same conditional writes as the
    DynamoDB store (tests/unit/test_message_store.py runs one contract on both)."""

    messages: dict[str, Message] = field(default_factory=dict)
    refs: dict[tuple[str, str], str] = field(default_factory=dict)
    early: dict[tuple[str, str], dict[str, StatusUpdate]] = field(default_factory=dict)
    kept_at: dict[tuple[str, str, str], str] = field(default_factory=dict)
    cancelled_campaigns: dict[str, str] = field(default_factory=dict)
    writes: int = 0

    def create(self, message: Message) -> bool:
        if message.id in self.messages:
            return False
        self.messages[message.id] = message
        self.writes += 1
        return True

    def get(self, message_id: str) -> Message | None:
        return self.messages.get(message_id)

    def save(self, before: Message, after: Message) -> bool:
        return self._put(before, after)

    def save_with_ref(self, before: Message, after: Message) -> bool:
        if not (after.provider and after.provider_ref):
            raise ValueError("save_with_ref needs the provider and its reference")
        if not self._put(before, after):
            return False
        self.refs[(after.provider, after.provider_ref)] = after.id
        return True

    def _put(self, before: Message, after: Message) -> bool:
        stored = self.messages.get(after.id)
        if stored is None or stored.version != before.version:
            return False
        self.messages[after.id] = replace(after, version=before.version + 1)
        self.writes += 1
        return True

    def message_id_for_ref(self, provider: str, ref: str) -> str | None:
        return self.refs.get((provider, ref))

    def keep_early(self, provider: str, ref: str, update: StatusUpdate, now: str) -> None:
        key = f"EARLY#{update.dedupe_key}"
        kept = self.early.setdefault((provider, ref), {})
        if key not in kept:
            kept[key] = update
            self.kept_at[(provider, ref, key)] = now

    def early_updates(self, provider: str, ref: str) -> list[tuple[str, StatusUpdate]]:
        kept = self.early.get((provider, ref), {})
        return sorted(kept.items(), key=lambda item: (item[1].at, item[0]))

    def drop_early(self, provider: str, ref: str, key: str) -> None:
        self.early.get((provider, ref), {}).pop(key, None)
        self.kept_at.pop((provider, ref, key), None)

    def kept_before(self, before: str) -> Iterator[tuple[str, str]]:
        found = {(p, r) for (p, r, _), at in self.kept_at.items() if at < before}
        yield from sorted(found)

    def overdue(self, now: str) -> Iterator[str]:
        for message in list(self.messages.values()):
            if message.final_by and message.status not in FINAL and message.final_by < now:
                yield message.id

    def claim(self, message_id: str, now: str, lease_until: str) -> Message | None:
        stored = self.messages.get(message_id)
        if stored is None or stored.status != Status.ACCEPTED or stored.send_started_at:
            return None
        claimed = replace(
            stored,
            send_started_at=now,
            attempts=stored.attempts + 1,
            final_by=lease_until,
            version=stored.version + 1,
        )
        self.messages[message_id] = claimed
        self.writes += 1
        return claimed

    def end_waiting(self, message_id: str, update: StatusUpdate) -> Message | None:
        stored = self.messages.get(message_id)
        if (
            stored is None
            or stored.status != Status.ACCEPTED
            or stored.send_started_at
            or len(stored.progress.history) >= HISTORY_LIMIT
        ):
            return None
        progress = advance(stored.progress, update) or stored.progress
        ended = replace(stored, progress=progress, final_by=None)
        return self.messages[message_id] if self._put(stored, ended) else None

    # `gateway.core.cancelling.CampaignIndex`
    def message_ids(self, campaign: str) -> Iterator[str]:
        yield from sorted(m.id for m in self.messages.values() if m.campaign == campaign)

    def mark_cancelled(self, campaign: str, at: str) -> None:
        self.cancelled_campaigns[campaign] = at

    def cancelled(self, campaign: str) -> bool:
        return campaign in self.cancelled_campaigns

    def due_polls(self, now: str, limit: int) -> list[tuple[str, str, int]]:
        due = sorted(
            (m.next_poll_at, m.id, m.provider_ref or "", m.polls)
            for m in self.messages.values()
            if m.next_poll_at
            and m.final_by  # a final receipt still awaited: not swept, not final
            and m.status not in FINAL
            and m.next_poll_at <= now
        )
        return [(i, ref, polls) for _, i, ref, polls in due[:limit]]


@dataclass
class MemoryLaneQueue:
    """`gateway.core.store.LaneQueue` in memory (one contract with the DynamoDB store)."""

    ready_entries: dict[str, dict[str, QueueEntry]] = field(default_factory=dict)
    later_entries: dict[str, dict[tuple[str, str], QueueEntry]] = field(default_factory=dict)

    def push(self, entry: QueueEntry, due_at: str | None = None) -> None:
        if due_at is None:
            self.ready_entries.setdefault(entry.lane, {})[entry.position] = entry
        else:
            self.later_entries.setdefault(entry.lane, {})[(due_at, entry.message_id)] = entry

    def ready(self, lane: str, limit: int) -> list[QueueEntry]:
        entries = self.ready_entries.get(lane, {})
        return [entries[position] for position in sorted(entries)[:limit]]

    def remove(self, entry: QueueEntry) -> None:
        self.ready_entries.get(entry.lane, {}).pop(entry.position, None)

    def promote(self, lane: str, now: str, limit: int) -> int:
        waiting = self.later_entries.get(lane, {})
        due = [key for key in sorted(waiting) if key[0] <= now][:limit]
        for key in due:
            self.push(waiting.pop(key))
        return len(due)

    def next_due(self, lane: str) -> str | None:
        waiting = self.later_entries.get(lane, {})
        return min(waiting)[0] if waiting else None


@dataclass
class MemorySecrets:
    values: dict[str, Any] = field(default_factory=dict)
    reads: int = 0

    def read_json(self, name: str, *, max_age: int, force: bool = False) -> dict[str, Any]:
        self.reads += 1
        value = self.values.get(name, {})
        return dict(value) if isinstance(value, dict) else {}

    def write_json(self, name: str, value: dict[str, Any]) -> None:
        self.values[name] = dict(value)

    def read_text(self, name: str, *, max_age: int) -> str:
        return str(self.values[name])


@dataclass
class FakeOrangeHttp:
    """Orange's token and receipt-subscription calls, and CloudFormation's ResponseURL, behind
    requests' transport (install with `monkeypatch` on HTTPAdapter.send). Every request is
    recorded; Orange answers as the seeds show, unless `refuse` names a sender number or
    `delete_status` forces the DELETE answer."""

    base_url: str = "https://api.orange.test"
    token_requests: int = 0
    sent: list[requests.PreparedRequest] = field(default_factory=list)
    timeouts: list[Any] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # PUT to a ResponseURL
    answer_headers: list[dict[str, str]] = field(default_factory=list)
    put_statuses: list[int] = field(default_factory=list)
    registered: dict[str, str] = field(default_factory=dict)  # subscription id -> notifyURL
    refuse: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    expired_tokens: set[str] = field(default_factory=set)
    deleted: list[str] = field(default_factory=list)  # DELETE paths
    delete_status: int | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        self.timeouts.append(kwargs.get("timeout"))
        path = urlsplit(request.url or "").path
        if request.method == "PUT":
            self.answers.append(json.loads(request.body or b""))
            self.answer_headers.append(dict(request.headers))
            return _response(request, self.put_statuses.pop(0) if self.put_statuses else 200)
        if path == "/oauth/v3/token":
            self.token_requests += 1
            token = {"access_token": f"t{self.token_requests}", "expires_in": "3600"}
            return _response(request, 200, token)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.expired_tokens:
            return _response(request, 401, {"code": 42, "message": "Expired credentials"})
        handlers = {"POST": self._subscribe, "GET": self._show, "DELETE": self._delete}
        if request.method not in handlers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return handlers[request.method](request, path)

    def _show(self, request: requests.PreparedRequest, path: str) -> requests.Response:
        subscription_id = unquote(path.rsplit("/", 1)[-1])
        if subscription_id not in self.registered:
            return _response(request, 404, {"code": 60, "message": "Resource not found"})
        body = self.subscription(subscription_id, self.registered[subscription_id])
        return _response(request, 200, body)

    def _delete(self, request: requests.PreparedRequest, path: str) -> requests.Response:
        self.deleted.append(path)
        subscription_id = unquote(path.rsplit("/", 1)[-1])
        status = self.delete_status or (204 if subscription_id in self.registered else 404)
        if status == 204:
            del self.registered[subscription_id]
            return _response(request, status)
        body = {404: {"code": 60, "message": "Resource not found"}}.get(
            status, {"code": 1, "message": "Internal error"}
        )
        return _response(request, status, body)

    def _subscribe(self, request: requests.PreparedRequest, path: str) -> requests.Response:
        sender = path.split("/")[4].removeprefix("tel%3A%2B")
        if sender in self.refuse:
            status, body = self.refuse[sender]
            return _response(request, status, body)
        notify_url = json.loads(request.body or b"")["deliveryReceiptSubscription"][
            "callbackReference"
        ]["notifyURL"]
        subscription_id = f"sub-{uuid.uuid4().hex[:8]}"
        self.registered[subscription_id] = notify_url
        return _response(request, 201, self.subscription(subscription_id, notify_url))

    def subscription(self, subscription_id: str, notify_url: str) -> dict[str, Any]:
        return {
            "deliveryReceiptSubscription": {
                "callbackReference": {"notifyURL": notify_url},
                "resourceURL": (
                    f"{self.base_url}/smsmessaging/v1/outbound/subscriptions/{subscription_id}"
                ),
            }
        }

    def orange_calls(self, method: str) -> list[requests.PreparedRequest]:
        return [r for r in self.sent if r.method == method and "oauth" not in (r.url or "")]


def _response(
    request: requests.PreparedRequest, status: int, body: Any = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.request = request
    response.url = request.url or ""
    return response
