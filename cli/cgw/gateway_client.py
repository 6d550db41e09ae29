"""Talking to a running gateway: put send requests on its queue, read statuses from its API."""

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session as BotocoreSession

from cgw.endpoints import Endpoints

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

TIMEOUT = (3.05, 10.0)
SQS_BATCH = 10


class GatewayError(Exception):
    """The gateway answered with an error; the message says what and where."""


class GatewayClient:
    def __init__(self, endpoints: Endpoints, session: requests.Session | None = None) -> None:
        self.endpoints = endpoints
        self._http = session or requests.Session()
        self._sqs = endpoints.sqs()

    def send(self, requests_: Iterable[dict[str, Any]]) -> int:
        """Queue send requests (batches of ten); how many were queued."""
        batch: list[dict[str, Any]] = []
        queued = 0
        for request in requests_:
            batch.append(request)
            if len(batch) == SQS_BATCH:
                queued += self._send_batch(batch)
                batch = []
        if batch:
            queued += self._send_batch(batch)
        return queued

    def _send_batch(self, batch: list[dict[str, Any]]) -> int:
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": json.dumps(request)} for i, request in enumerate(batch)
        ]
        answer = self._sqs.send_message_batch(
            QueueUrl=self.endpoints.send_queue_url, Entries=entries
        )
        failed = answer.get("Failed", [])
        if failed:
            raise GatewayError(f"the queue refused {len(failed)} request(s): {failed[0]}")
        return len(entries)

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

    def _signed_headers(self, url: str) -> dict[str, str]:
        """The deployed status route uses IAM auth: sign with the caller's credentials."""
        if self.endpoints.local:
            return {}
        credentials = BotocoreSession().get_credentials()
        if credentials is None:
            raise GatewayError("no AWS credentials to sign the status request with")
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(credentials, "execute-api", self.endpoints.region).add_auth(request)
        return dict(request.headers.items())
