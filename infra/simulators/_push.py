"""Background delivery of the simulators' callbacks (delivery receipts, reports).

Pushes fall due after a delay and are posted one at a time, in due order, by a
single worker thread, so the receipts of one message reach the receiver in order.
A push the receiver does not acknowledge (by default: with exactly 200; a simulator
may judge the answer further, see `Pusher`) or cannot be reached for is retried with
exponential backoff, then given up; every outcome is recorded. A simulator that must
call back before it answers posts with `push_now`, in its own thread, one message's
callbacks in order.
"""

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import requests

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Push:
    """One HTTP POST to make: `headers` go with the Content-Type, `auth` is HTTP Basic."""

    url: str
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    auth: tuple[str, str] | None = field(default=None, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class PushResult:
    """How a push ended: `status` is the last HTTP status (None if none came back)."""

    push: Push
    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    finished_at: float


Judge = Callable[[Push, requests.Response], str | None]
"""What is wrong with the receiver's answer to a push; None when it acknowledges it."""


def post(push: Push, timeout: float) -> requests.Response:
    """POST `push` once; requests' exceptions are the caller's."""
    return requests.post(
        push.url,
        data=push.body,
        headers={"Content-Type": push.content_type, **push.headers},
        auth=push.auth,
        timeout=timeout,
    )


def http_200(push: Push, response: requests.Response) -> str | None:
    """The default judge: the receiver must acknowledge with exactly 200, as Orange's receipt
    docs require."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return None


class Pusher:
    """A single worker thread posting scheduled pushes, each retried until `judge` finds no
    fault with the receiver's answer (or the attempts run out)."""

    def __init__(
        self,
        *,
        attempts: int = 4,
        backoff: float = 0.1,
        timeout: float = 2.0,
        judge: Judge = http_200,
    ) -> None:
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self._judge = judge
        self._queue: list[tuple[float, int, Push]] = []
        self._order = itertools.count()  # ties on the due time keep scheduling order
        self._busy = False
        self._results: list[PushResult] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="callback-pusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker; pushes not yet due are dropped."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def schedule(self, push: Push, delay: float) -> None:
        """Post `push` once `delay` seconds have passed."""
        with self._changed:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), push))
            self._changed.notify_all()

    def push_now(self, push: Push) -> PushResult:
        """Post `push` at once, in the caller's thread (retried as a scheduled one, recorded
        with the others): a simulator that must call back before it answers."""
        result = self._deliver(push)
        with self._changed:
            self._results.append(result)
            self._changed.notify_all()
        return result

    def results(self) -> list[PushResult]:
        with self._changed:
            return list(self._results)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or in flight; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _run(self) -> None:
        while (push := self._next_due()) is not None:
            result = self._deliver(push)
            with self._changed:
                self._results.append(result)
                self._busy = False
                self._changed.notify_all()

    def _next_due(self) -> Push | None:
        with self._changed:
            while not self._stopping.is_set():
                if not self._queue:
                    self._changed.wait()
                    continue
                wait = self._queue[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                self._busy = True
                return heapq.heappop(self._queue)[2]
            return None

    def _deliver(self, push: Push) -> PushResult:
        attempt = 1
        while True:
            status, error = self._post(push)
            if error is None or attempt == self._attempts:
                break
            # The backoff doubles with each retry; stop() cuts it short.
            if self._stopping.wait(self._backoff * 2 ** (attempt - 1)):
                break
            attempt += 1
        if error is not None:
            logger.warning("callback push given up attempts=%d error=%s", attempt, error)
        return PushResult(push, error is None, attempt, status, error, time.time())

    def _post(self, push: Push) -> tuple[int | None, str | None]:
        """One attempt: the HTTP status (if any) and why it failed (None on success)."""
        try:
            response = post(push, self._timeout)
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, self._judge(push, response)
