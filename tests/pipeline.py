"""The sender's whole path in one process, for unit tests: intake, then the lane's dispatcher
run at once, in turn (one worker, no threads), with wake-ups recorded instead of queued."""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.core.cancelling import CampaignIndex, Canceller
from gateway.core.dispatching import Dispatcher, Round
from gateway.core.intake import Intake, Queued, Wakes
from gateway.core.model import utc_now
from gateway.core.retry import RetryPolicy
from gateway.core.sending import Channel, Delivery, Result, Sender
from gateway.core.store import LaneQueue, MessageStore
from gateway.core.tracking import StatusTracker
from tests.fakes import MemoryLaneQueue

FAR_FUTURE = "9999-12-31T00:00:00.000Z"


@dataclass
class RecordedWakeups:
    woken: list[str] = field(default_factory=list)
    timers: list[tuple[str, str]] = field(default_factory=list)

    def wake(self, lanes: Sequence[str]) -> None:
        self.woken += lanes

    def wake_at(self, lane: str, at: str) -> None:
        self.timers.append((lane, at))

    def wake_all(self, wakes: Wakes) -> None:
        self.wake(sorted(wakes.now))
        for lane, at in wakes.later.items():
            self.wake_at(lane, at)


class FreeLease:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


def in_turn(tasks: Sequence[Callable[[], None]]) -> None:
    for task in tasks:
        task()


class Pipeline:
    def __init__(
        self,
        *,
        store: MessageStore,
        channels: Mapping[str, Channel[Any]] | None = None,
        retry: RetryPolicy | None = None,
        tracker: StatusTracker | None = None,
        queue: LaneQueue | None = None,
        sender: Sender | None = None,
        campaigns: CampaignIndex | None = None,
    ) -> None:
        """The sender as wired (`sender`), or one of `channels` and `retry`."""
        self.store = store
        self.queue = queue or MemoryLaneQueue()
        self.tracker = tracker or StatusTracker(store)
        self.sender = sender or Sender(
            tracker=self.tracker,
            channels=channels or {},
            retry=retry or RetryPolicy(),
            campaigns=campaigns,
        )
        canceller = Canceller(store=store, campaigns=campaigns) if campaigns else None
        self.intake = Intake(store=store, queue=self.queue, canceller=canceller)
        self.wakeups = RecordedWakeups()
        self.dispatcher = Dispatcher(
            store=store,
            queue=self.queue,
            sender=self.sender,
            wakeup=self.wakeups,
            lease=lambda lane: FreeLease(),
            workers=1,
            linger_seconds=0.0,
            runner=in_turn,
        )

    def queue_request(
        self, body: dict[str, Any] | str, *, sqs_id: str = "q-1", queued_at: str | None = None
    ) -> Queued:
        raw = body if isinstance(body, str) else json.dumps(body)
        delivery = Delivery(raw, sqs_id, queued_at or utc_now())
        return self.intake.receive(delivery, self.sender.admit(raw, delivery.fallback_id))

    def dispatch(self, lane: str, *, now: str | None = None) -> Round:
        """Run the lane's dispatcher once; with `now`, what is due by then is made ready first
        (a retry's backoff or a hold, without waiting for it)."""
        if now is not None:
            self.queue.promote(lane, now, 1000)
        return self.dispatcher.run(lane, lambda: 60.0)

    def deliver(
        self, body: dict[str, Any] | str, *, sqs_id: str = "q-1", queued_at: str | None = None
    ) -> Result:
        """Queue one request and dispatch its lane: what came of that request."""
        queued = self.queue_request(body, sqs_id=sqs_id, queued_at=queued_at)
        if queued.lane is None or queued.due_at is not None:
            return queued.result
        outcomes = self.dispatch(queued.lane).outcomes
        return outcomes.get(self._message_id(body, sqs_id), queued.result)

    def retry_due(self, lane: str) -> Round:
        """Dispatch the lane as if every waiting message were due."""
        return self.dispatch(lane, now=FAR_FUTURE)

    @staticmethod
    def _message_id(body: dict[str, Any] | str, sqs_id: str) -> str:
        request = body if isinstance(body, dict) else json.loads(body)
        return str(request.get("id") or f"sqs-{sqs_id}")
