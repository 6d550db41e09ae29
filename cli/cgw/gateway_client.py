"""Talking to a running gateway: put send requests on its queue, read statuses from its API."""

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session as BotocoreSession
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cgw.endpoints import Endpoints

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

TIMEOUT = (3.05, 10.0)
SQS_BATCH = 10
# SendMessageBatch's own limit on the bodies of one call; a queue may allow less.
SQS_MAX_BATCH_BYTES = 1_048_576
# An entry SQS failed on its side (not the request's fault) is tried this often in all.
QUEUE_ATTEMPTS = 4
RETRY_BASE_SECONDS = 0.2


class GatewayError(Exception):
    """The gateway answered with an error; the message says what and where."""


class _CallFailed(Exception):
    """A whole SendMessageBatch call failed (after botocore's own retries)."""

    def __init__(self, reason: str, not_queued: list["NotQueued"]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_queued = not_queued


@dataclass(frozen=True, slots=True)
class QueueState:
    waiting: int  # ApproximateNumberOfMessages
    in_flight: int  # ApproximateNumberOfMessagesNotVisible
    max_message_bytes: int

    @property
    def ahead(self) -> int:
        """Requests the sender has still to finish before anything queued now."""
        return self.waiting + self.in_flight


@dataclass(frozen=True, slots=True)
class NotQueued:
    index: int  # position in the bodies given to `queue`
    reason: str


@dataclass(frozen=True, slots=True)
class QueueResult:
    queued: int
    not_queued: list[NotQueued]


def api_session() -> requests.Session:
    """A session for the gateway's API. API Gateway answers 429 when a route's throttle is
    reached, before anything of the gateway's ran: such a request is always safe to send
    again, after a pause (its Retry-After when it gives one)."""
    retry = Retry(
        total=6,
        status_forcelist=(429,),
        allowed_methods=None,  # any method: a throttled request was never seen
        backoff_factor=0.25,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last 429 is answered, and reported as such
    )
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(max_retries=retry))
    return session


class GatewayClient:
    def __init__(
        self,
        endpoints: Endpoints,
        session: requests.Session | None = None,
        *,
        sqs: "SQSClient | None" = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoints = endpoints
        self._http = session or api_session()
        self._sqs = sqs or endpoints.sqs()
        self._sleep = sleep

    def send(self, requests_: Iterable[dict[str, Any]]) -> int:
        """Queue send requests; how many were queued (GatewayError if any was not)."""
        result = self.queue([json.dumps(request) for request in requests_])
        if result.not_queued:
            failed = result.not_queued
            raise GatewayError(f"the queue refused {len(failed)} request(s): {failed[0].reason}")
        return result.queued

    def queue_state(self) -> QueueState:
        try:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.endpoints.send_queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "MaximumMessageSize",
                ],
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            raise GatewayError(f"send queue {self.endpoints.send_queue_url}: {exc}") from exc
        return QueueState(
            waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            max_message_bytes=int(attributes.get("MaximumMessageSize", SQS_MAX_BATCH_BYTES)),
        )

    def queue(
        self,
        bodies: Sequence[str],
        *,
        max_batch_bytes: int = SQS_MAX_BATCH_BYTES,
        progress: Callable[[int], None] | None = None,
    ) -> QueueResult:
        """Put `bodies` on the send queue with SendMessageBatch (ten at most, `max_batch_bytes`
        at most per call). Entries SQS failed on its side are sent again, with backoff, and
        only they: the others are on the queue already. `progress(n)` after each call, n
        bodies settled. When a whole call fails, nothing after it is sent."""
        not_queued: list[NotQueued] = []
        batches = list(_batches(bodies, min(max_batch_bytes, SQS_MAX_BATCH_BYTES)))
        for position, batch in enumerate(batches):
            try:
                not_queued += self._queue_batch(batch, bodies)
            except _CallFailed as stop:
                later = [index for rest in batches[position + 1 :] for index in rest]
                not_queued += stop.not_queued
                not_queued += [NotQueued(index, stop.reason) for index in later]
                break
            if progress is not None:
                progress(len(batch))
        not_queued.sort(key=lambda failure: failure.index)
        return QueueResult(len(bodies) - len(not_queued), not_queued)

    def _queue_batch(self, batch: list[int], bodies: Sequence[str]) -> list[NotQueued]:
        pending = batch
        failures: list[NotQueued] = []
        for attempt in range(QUEUE_ATTEMPTS):
            if attempt:
                self._sleep(RETRY_BASE_SECONDS * 2 ** (attempt - 1))
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(index), "MessageBody": bodies[index]} for index in pending
            ]
            try:
                answer = self._sqs.send_message_batch(
                    QueueUrl=self.endpoints.send_queue_url, Entries=entries
                )
            except (ClientError, BotoCoreError) as exc:
                reason = f"not sent: {exc}"
                unsent = [NotQueued(index, reason) for index in pending]
                raise _CallFailed(reason, failures + unsent) from exc
            retry = []
            for failed in answer.get("Failed", []):
                reason = ": ".join(filter(None, (failed["Code"], failed.get("Message"))))
                if failed["SenderFault"]:  # the same entry would fail again
                    failures.append(NotQueued(int(failed["Id"]), reason))
                else:
                    retry.append((int(failed["Id"]), reason))
            if not retry:
                return failures
            pending = [index for index, _ in retry]
        return failures + [NotQueued(index, reason) for index, reason in retry]

    def status(self, message_id: str) -> dict[str, Any] | None:
        """The status API's JSON for one message; None when the gateway does not know it."""
        url = f"{self.endpoints.api_url.rstrip('/')}/messages/{quote(message_id, safe='')}"
        response = self._http.get(url, headers=self._signed_headers(url), timeout=TIMEOUT)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise GatewayError(f"GET {url}: HTTP {response.status_code} {response.text[:200]}")
        result: dict[str, Any] = response.json()
        return result

    def search(self, **query: str | int | None) -> dict[str, Any]:
        """`GET /messages`: one page, `{"messages": [...], "cursor": ...}`. `query` as the API
        names it (to, campaign, status, since, until, limit, cursor); None is left out. A
        query the API refuses raises GatewayError with its reason."""
        given = {name: str(value) for name, value in query.items() if value is not None}
        url = f"{self.endpoints.api_url.rstrip('/')}/messages"
        if given:
            url = f"{url}?{urlencode(given)}"
        response = self._http.get(url, headers=self._signed_headers(url), timeout=TIMEOUT)
        if response.status_code != 200:
            raise GatewayError(f"GET {url}: HTTP {response.status_code} {response.text[:200]}")
        result: dict[str, Any] = response.json()
        return result

    def cancel(self, message_id: str) -> tuple[int, dict[str, Any]]:
        """`DELETE /messages/{id}`: the HTTP status (200 cancelled, 404 unknown, 409 too
        late) and the answer's JSON."""
        url = f"{self.endpoints.api_url.rstrip('/')}/messages/{quote(message_id, safe='')}"
        headers = self._signed_headers(url, "DELETE")
        response = self._http.delete(url, headers=headers, timeout=TIMEOUT)
        if response.status_code not in (200, 404, 409):
            raise GatewayError(f"DELETE {url}: HTTP {response.status_code} {response.text[:200]}")
        answer: dict[str, Any] = response.json() if response.content else {}
        return response.status_code, answer

    def submit(self, requests_: Sequence[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """`POST /messages`: one request, or a batch of up to 100; the HTTP status and the
        answer (an outcome per message: accepted, refused with the reason, error)."""
        url = f"{self.endpoints.api_url.rstrip('/')}/messages"
        payload = requests_[0] if len(requests_) == 1 else {"messages": list(requests_)}
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            **self._signed_headers(url, "POST", body),
        }
        response = self._http.post(url, data=body, headers=headers, timeout=TIMEOUT)
        if response.status_code not in (202, 207, 400, 503):
            raise GatewayError(f"POST {url}: HTTP {response.status_code} {response.text[:200]}")
        answer: dict[str, Any] = response.json()
        return response.status_code, answer

    def _signed_headers(self, url: str, method: str = "GET", body: bytes = b"") -> dict[str, str]:
        """The deployed messages routes use IAM auth: sign with the caller's credentials (the
        body too: SigV4 signs its hash)."""
        if self.endpoints.local:
            return {}
        credentials = BotocoreSession().get_credentials()
        if credentials is None:
            raise GatewayError("no AWS credentials to sign the request with")
        request = AWSRequest(method=method, url=url, data=body)
        SigV4Auth(credentials, "execute-api", self.endpoints.region).add_auth(request)
        return dict(request.headers.items())


def _batches(bodies: Sequence[str], max_bytes: int) -> Iterator[list[int]]:
    """Indexes of `bodies`, ten at most and `max_bytes` of bodies at most per batch."""
    batch: list[int] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode())
        if batch and (len(batch) == SQS_BATCH or size + length > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += length
    if batch:
        yield batch
