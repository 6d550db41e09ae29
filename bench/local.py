"""The local stack as the benchmarks and the reliability run drive it: started in a temporary
directory under a unique name, fed SMS through the send queue, watched through the Orange
simulator, the queues and the status API."""

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from types import TracebackType
from typing import Any, Self

from cgw.endpoints import from_local_dict
from cgw.gateway_client import GatewayClient
from infra.local.stack import LocalStack, LocalStackOptions
from infra.simulators.orange import NetworkDelay, OrangeSimulator

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
# Mali through its own Orange account ("mali"), Côte d'Ivoire through "default".
MALI_ACCOUNT = {"OrangeCountryAccounts": "MLI=mali"}
FINAL_STATUSES = frozenset(
    {"delivered", "undelivered", "rejected", "failed", "unknown", "expired", "cancelled"}
)
POLL_SECONDS = 0.5
EXPIRER_POLL_SECONDS = 0.1  # "every N sends" within a send or so at 5-10 SMS/s
# Enough for any run here: the simulator refuses sends once a country's units run out.
CONTRACT_UNITS = 100_000

type View = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Route:
    """One Orange account and the country it sends to, with numbers of that country."""

    account: str  # the gateway's account name
    country: str  # ISO3, the simulator's contract
    prefix: str  # E.164 prefix; the message index fills the remaining digits
    digits: int

    def number(self, index: int) -> str:
        """The index-th number whose receipts are DeliveredToNetwork then DeliveredToTerminal:
        the simulator gives numbers ending 96-99 other outcomes, so those are skipped."""
        suffix = index + 4 * (index // 96)
        return f"{self.prefix}{suffix:0{self.digits}d}"


CIV = Route("default", "CIV", "+22507000", 5)
MLI = Route("mali", "MLI", "+223700", 5)


@contextmanager
def local_stack(
    label: str,
    *,
    overrides: Mapping[str, str] | None = None,
    visibility_timeout: int | None = None,
    schedule_speedup: float = LocalStackOptions.schedule_speedup,
    carrier_network: NetworkDelay | None = None,
) -> Iterator[LocalStack]:
    """A fresh local stack (free ports, its own state directory and stack name)."""
    with TemporaryDirectory(prefix=f"cgw-{label}-") as state_dir:
        options = LocalStackOptions(
            template_path=TEMPLATE,
            api_port=0,
            aws_port=0,
            state_dir=Path(state_dir),
            # A name of its own per stack of a run: its resources are named after it.
            stack_name=f"{label}-{uuid.uuid4().hex[:6]}",
            parameter_overrides=dict(overrides or {}),
            visibility_timeout=visibility_timeout,
            schedule_speedup=schedule_speedup,
            carrier_network=carrier_network,
            # No reader of the bus here: the events are published, nothing queues them.
            events_queue=False,
        )
        with LocalStack(options) as stack:
            orange = stack.simulator(OrangeSimulator)
            for route in (CIV, MLI):
                orange.set_contract(route.country, units=CONTRACT_UNITS)
            yield stack


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process of this machine has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # utime and stime are the 14th and 15th fields; the 3rd is the first after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gateway_client(stack: LocalStack) -> GatewayClient:
    return GatewayClient(from_local_dict(stack.endpoints))


def sms_requests(tag: str, routes: Iterable[Route], per_route: int) -> list[dict[str, Any]]:
    """`per_route` SMS for each route, interleaved so every route has work from the start.
    Each text carries its id, so the simulator's (recipient, text) pairs identify a message."""
    requests = []
    for index in range(per_route):
        for route in routes:
            message_id = f"{tag}-{route.country.lower()}-{index}"
            requests.append(
                {
                    "id": message_id,
                    "channel": "sms",
                    "to": route.number(index),
                    "text": f"bench {message_id}",
                }
            )
    return requests


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll `check` until it holds; False if `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def queue_depth(stack: LocalStack, endpoint: str = "send_queue_url") -> int:
    """Messages on a queue (the send queue unless another endpoint is named): waiting, in
    flight (received, not deleted) and delayed."""
    attributes = (
        stack.clients.sqs()
        .get_queue_attributes(QueueUrl=stack.endpoints[endpoint], AttributeNames=["All"])
        .get("Attributes", {})
    )
    return sum(
        int(attributes.get(name, "0"))
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )


def settle(stack: LocalStack, timeout: float) -> bool:
    """Wait until the gateway has nothing left to do: the send queue is empty (so every send
    has happened, and the simulator schedules a send's receipts before answering it) and the
    simulator has pushed every receipt. False on timeout."""
    orange = stack.simulator(OrangeSimulator)
    return wait_until(lambda: queue_depth(stack) == 0 and orange.wait_for_receipts(0), timeout)


def final_views(
    gateway: GatewayClient, ids: Iterable[str], timeout: float
) -> dict[str, View | None]:
    """Each message's status view, read again until it is final or `timeout` passes."""
    views: dict[str, View | None] = {}
    pending = set(ids)

    def all_final() -> bool:
        for message_id in sorted(pending):
            view = views[message_id] = gateway.status(message_id)
            if view is not None and view["status"] in FINAL_STATUSES:
                pending.discard(message_id)
        return not pending

    wait_until(all_final, timeout)
    return views


class TokenExpirer:
    """Expires every token the simulator issued each time another `every` sends were
    accepted, as a token's lifetime running out mid-run would; at most `limit` times."""

    def __init__(self, simulator: OrangeSimulator, every: int, limit: int | None = None) -> None:
        self._simulator = simulator
        self._every = every
        self._limit = limit
        self.expiries = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="token-expirer", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        start = self._simulator.stats()["sends"]
        while self._limit is None or self.expiries < self._limit:
            if self._stopping.wait(EXPIRER_POLL_SECONDS):
                return
            if self._simulator.stats()["sends"] - start >= self._every * (self.expiries + 1):
                self._simulator.expire_tokens()
                self.expiries += 1
