"""CloudFormation custom resources: the request CloudFormation sends, the answer it waits for
at the request's ResponseURL, and a runner that always answers, in time.

CloudFormation waits for the answer at the ResponseURL (a presigned S3 URL), not for the
function's result: a handler that raises or runs out of time without answering leaves the
stack waiting until the resource's ServiceTimeout. So whatever happens the runner PUTs an
answer, before the invocation's deadline: the work runs in a thread and is given up (FAILED)
when only the time needed to answer is left.
"""

import json
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.observability import logger

ANSWER_TIMEOUT = (3.05, 5.0)
ANSWER_ATTEMPTS = 3
ANSWER_BACKOFF_SECONDS = 1.0
# What answering may take at worst (every attempt timing out), kept back from the work.
ANSWER_RESERVE_SECONDS = ANSWER_ATTEMPTS * sum(ANSWER_TIMEOUT) + ANSWER_BACKOFF_SECONDS * (
    ANSWER_ATTEMPTS - 1
)
MAX_REASON_LENGTH = 1000  # the whole answer must stay under CloudFormation's 4 KB
# The physical id of a Create that failed before its provider named one; CloudFormation
# sends it back in the rollback's Delete.
NOT_CREATED = "not-created"


class CustomResourceRequest(BaseModel):
    """What CloudFormation sends the ServiceToken function."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_type: Literal["Create", "Update", "Delete"] = Field(alias="RequestType")
    # Presigned: whoever has it can answer for the stack, so it is never logged.
    response_url: str = Field(alias="ResponseURL", min_length=1, repr=False)
    stack_id: str = Field(alias="StackId", min_length=1)
    request_id: str = Field(alias="RequestId", min_length=1)
    logical_resource_id: str = Field(alias="LogicalResourceId", min_length=1)
    resource_type: str = Field(alias="ResourceType", default="")
    physical_resource_id: str | None = Field(alias="PhysicalResourceId", default=None)
    properties: dict[str, Any] = Field(alias="ResourceProperties", default_factory=dict)
    old_properties: dict[str, Any] = Field(alias="OldResourceProperties", default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["SUCCESS", "FAILED"]
    physical_resource_id: str
    reason: str = ""
    data: dict[str, str] = field(default_factory=dict)  # what Fn::GetAtt reads

    @classmethod
    def success(
        cls, physical_resource_id: str, data: dict[str, str] | None = None, reason: str = ""
    ) -> "Outcome":
        return cls("SUCCESS", physical_resource_id, reason, data or {})

    @classmethod
    def failed(cls, physical_resource_id: str, reason: str) -> "Outcome":
        return cls("FAILED", physical_resource_id, reason or "failed")

    def redacted(self, redact: Callable[[str], str]) -> "Outcome":
        return Outcome(
            self.status,
            redact(self.physical_resource_id),
            redact(self.reason),
            {key: redact(value) for key, value in self.data.items()},
        )


class Provider(Protocol):
    """A custom resource's logic."""

    def handle(self, request: CustomResourceRequest, cancelled: threading.Event) -> Outcome:
        """Create, update or delete; `cancelled` is set when the answer cannot wait longer."""
        ...

    def redact(self, text: str) -> str:
        """`text` without any secret the provider handled."""
        ...


def answer(
    event: Mapping[str, Any],
    time_left: Callable[[], float],
    provider: Provider,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome | None:
    """Run `provider` on the request and PUT the outcome to its ResponseURL; the outcome, or
    None when the event is no request that could be answered."""
    try:
        request = CustomResourceRequest.model_validate(event)
    except ValidationError as exc:
        return _answer_malformed(event, exc, session, sleep)
    logger.info(
        "custom resource request",
        request_type=request.request_type,
        resource_type=request.resource_type,
        logical_resource_id=request.logical_resource_id,
        physical_resource_id=request.physical_resource_id,
    )
    outcome = _run(provider, request, budget=time_left() - ANSWER_RESERVE_SECONDS)
    outcome = outcome.redacted(provider.redact)
    logger.info(
        "custom resource answer",
        status=outcome.status,
        physical_resource_id=outcome.physical_resource_id,
        reason=outcome.reason,
    )
    respond(request.response_url, answer_body(event, outcome), session=session, sleep=sleep)
    return outcome


def _run(provider: Provider, request: CustomResourceRequest, budget: float) -> Outcome:
    fallback_id = request.physical_resource_id or NOT_CREATED
    outcomes: list[Outcome] = []
    cancelled = threading.Event()

    def work() -> None:
        try:
            outcomes.append(provider.handle(request, cancelled))
        except Exception as exc:  # any failure is answered, its cause logged (redacted)
            stack = "".join(traceback.format_exception(exc))
            logger.error("custom resource failed", stack=provider.redact(stack))
            outcomes.append(Outcome.failed(fallback_id, f"{type(exc).__name__}: {exc}"))

    worker = threading.Thread(target=work, name="custom-resource", daemon=True)
    worker.start()
    worker.join(max(budget, 0.0))
    if not outcomes:
        # The work may still end later; from now on it starts nothing new.
        cancelled.set()
        return Outcome.failed(fallback_id, f"not done within {max(budget, 0.0):.0f} s")
    return outcomes[0]


def answer_body(event: Mapping[str, Any], outcome: Outcome) -> dict[str, Any]:
    """The answer CloudFormation reads, echoing the request's ids."""
    return {
        "Status": outcome.status,
        "Reason": outcome.reason[:MAX_REASON_LENGTH],
        "PhysicalResourceId": outcome.physical_resource_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": outcome.data,
    }


def respond(
    response_url: str,
    body: dict[str, Any],
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """PUT the answer (a few attempts, each with timeouts); False when it could not be put."""
    http = session or requests.Session()
    payload = json.dumps(body).encode()
    for attempt in range(1, ANSWER_ATTEMPTS + 1):
        try:
            # No content type: the presigned URL was signed for none.
            response = http.put(
                response_url, data=payload, headers={"Content-Type": ""}, timeout=ANSWER_TIMEOUT
            )
        except requests.RequestException as exc:
            problem = type(exc).__name__
        else:
            if 200 <= response.status_code < 300:
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500:  # refused (expired, not signed for it): final
                break
        logger.warning("custom resource answer not taken", attempt=attempt, problem=problem)
        if attempt < ANSWER_ATTEMPTS:
            sleep(ANSWER_BACKOFF_SECONDS)
    logger.error("custom resource answer lost: the stack waits for its ServiceTimeout")
    return False


def _answer_malformed(
    event: Mapping[str, Any],
    error: ValidationError,
    session: requests.Session | None,
    sleep: Callable[[float], None],
) -> Outcome | None:
    fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
    reason = f"malformed custom resource request: {fields}"
    response_url = event.get("ResponseURL")
    if not isinstance(response_url, str) or not response_url:
        logger.error("not a custom resource request, nothing to answer", reason=reason)
        return None
    physical = event.get("PhysicalResourceId")
    outcome = Outcome.failed(
        physical if isinstance(physical, str) and physical else NOT_CREATED, reason
    )
    logger.error("custom resource answer", status=outcome.status, reason=reason)
    respond(response_url, answer_body(event, outcome), session=session, sleep=sleep)
    return outcome
