"""AWS failing on chosen calls, for unit tests: a live boto3 client's operation answered with a
service error (or a partial failure) before the request leaves, so the code under test gets
exactly what botocore raises (or returns) when the service itself answers that way."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient

UNAVAILABLE: dict[str, Any] = {
    "Error": {"Code": "ServiceUnavailable", "Message": "injected outage"},
    "ResponseMetadata": {"HTTPStatusCode": 503},
}
# DynamoDB's answers (HTTP 400) to a request over the table's throughput, and to a conditional
# write whose item changed since it was read.
THROTTLED: dict[str, Any] = {
    "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
    "ResponseMetadata": {"HTTPStatusCode": 400},
}
CONDITION_FAILED: dict[str, Any] = {
    "Error": {"Code": "ConditionalCheckFailedException", "Message": "changed meanwhile"},
    "ResponseMetadata": {"HTTPStatusCode": 400},
}


class Outage:
    """Answers `operation` on `calls` (1-based call numbers; None: every call) with `answer`
    under HTTP `status`; other calls go through. `calls_seen` counts them all."""

    def __init__(
        self,
        operation: str,
        *,
        calls: set[int] | None = None,
        status: int = 503,
        answer: dict[str, Any] = UNAVAILABLE,
    ) -> None:
        self.operation = operation
        self.calls = calls
        self.status = status
        self.answer = answer
        self.calls_seen = 0

    def __call__(self, **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        self.calls_seen += 1
        if self.calls is not None and self.calls_seen not in self.calls:
            return None  # botocore goes on and sends the request
        response = AWSResponse("https://outage.invalid/", self.status, HTTPHeaders(), None)
        return response, dict(self.answer)


@contextmanager
def outage(client: BaseClient, fault: Outage) -> Iterator[Outage]:
    """`fault` on `client` while the block runs."""
    service = client.meta.service_model.service_id.hyphenize()
    event = f"before-call.{service}.{fault.operation}"
    # botocore's stubs type every handler as returning None; a before-call handler answers
    # the call by returning the response.
    handler = cast("Callable[..., None]", fault)
    client.meta.events.register(event, handler)
    try:
        yield fault
    finally:
        client.meta.events.unregister(event, handler)
