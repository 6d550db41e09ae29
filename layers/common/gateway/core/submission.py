"""Send requests taken over HTTP (`POST /messages`): one request, or `{"messages": [...]}` of up
to 100. Each is read by the same admission and intake as a request from the send queue, and
answered at once: `accepted` (recorded, waiting in its lane: the status API has it as soon as
the answer is out), or `refused` with the reason (nothing recorded: the caller fixes it and
sends it again). The same id twice is one message, as on the queue.

A request the gateway could not record (its storage failing) is `error`: nothing was
recorded for it either, and sending it again is safe.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateway.core.intake import Intake, Wakes
from gateway.core.sending import Admission, Delivery, Result

MAX_MESSAGES = 100

type Outcome = Literal["accepted", "cancelled", "refused", "error"]


class SubmissionRefused(ValueError):
    """The POST as a whole is unreadable (not JSON, an empty or oversized batch)."""


@dataclass(frozen=True, slots=True)
class Submitted:
    index: int
    id: str | None  # None: refused before it named a usable id
    outcome: Outcome
    reason: str | None = None
    duplicate: bool = False  # the id was known already: nothing new recorded


@dataclass(frozen=True, slots=True)
class Submission:
    results: list[Submitted]
    batch: bool  # sent as {"messages": [...]}


def request_bodies(body: str) -> tuple[list[str], bool]:
    """The send requests in a POST body, and whether it was a batch. A send request never has
    a `messages` field (unknown fields are refused), so the two forms cannot be confused."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SubmissionRefused(f"body is not JSON this gateway can read: {exc}") from exc
    if not (isinstance(payload, dict) and "messages" in payload):
        return [body], False
    if set(payload) != {"messages"}:
        raise SubmissionRefused('a batch is {"messages": [...]} and nothing else')
    messages = payload["messages"]
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise SubmissionRefused(f"messages must be a list of 1 to {MAX_MESSAGES} send requests")
    return [json.dumps(message) for message in messages], True


def _new_id() -> str:
    return f"api-{uuid.uuid4()}"


class Submissions:
    def __init__(
        self,
        *,
        admit: Callable[[str, str], Admission],
        intake: Intake,
        storage_failures: tuple[type[Exception], ...],
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._admit = admit
        self._intake = intake
        self._storage_failures = storage_failures
        self._new_id = new_id

    def submit(self, body: str, *, arrived_at: str, request_id: str, wakes: Wakes) -> Submission:
        bodies, batch = request_bodies(body)
        results = [
            self._one(index, Delivery(text, request_id, arrived_at), wakes)
            for index, text in enumerate(bodies)
        ]
        return Submission(results, batch)

    def _one(self, index: int, delivery: Delivery, wakes: Wakes) -> Submitted:
        admission = self._intake.check(self._admit(delivery.body, self._new_id()))
        if admission.invalid is not None:
            claimed = admission.request.id if admission.request else admission.invalid.claimed_id
            return Submitted(index, claimed, "refused", str(admission.invalid))
        try:
            queued = self._intake.receive(delivery, admission)
        except self._storage_failures as exc:
            reason = f"not recorded ({type(exc).__name__}): send it again"
            return Submitted(index, admission.message_id, "error", reason)
        wakes.add(queued)
        outcome: Outcome = "cancelled" if queued.result is Result.CANCELLED else "accepted"
        duplicate = queued.result is Result.DUPLICATE
        return Submitted(index, admission.message_id, outcome, duplicate=duplicate)
