"""What every carrier simulator is built on: its server, its lifecycle, its faults and the
network between it and its clients."""

import logging
import threading
from collections.abc import Iterable
from dataclasses import asdict
from typing import TYPE_CHECKING, cast, get_type_hints

from werkzeug.wrappers import Request, Response

from infra.simulators._faults import FaultInjector, FaultPlan
from infra.simulators._http import ThreadedServer, json_response
from infra.simulators._network import Network, NetworkDelay, NetworkStats
from infra.simulators._push import Pusher

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def zero_counts[C](counts: type[C]) -> C:
    """Counters at 0, one per key of the TypedDict `counts`, in the order it declares them.

    A simulator declares its counters once, as that TypedDict; its `Stats` (what `stats()`
    answers) extends it with the figures worked out when asked.
    """
    return cast(C, dict.fromkeys(get_type_hints(counts), 0))


CONTROL_PREFIX = "/_sim/"
"""The simulators' own control endpoints: served at once, never across the network."""


class SimulatorBase:
    """A carrier API served on loopback by `_wsgi`, with a seeded fault injector and, for a
    simulator that calls back (receipts, reports), the `Pusher` that posts the callbacks.

    Every request it serves, except its control endpoints (`CONTROL_PREFIX`), crosses its
    `network`, if it has one, both ways (see `_serve`).

    `_lock` guards the subclass's state; `_stopping` is set by `stop()`, so that answers held
    by a `timeout` fault or by the network are released.
    """

    def __init__(
        self,
        *,
        title: str,
        log: logging.Logger,
        seed: int | None,
        pusher: Pusher | None = None,
        network: NetworkDelay | None = None,
    ) -> None:
        self._title = title  # for logs and the server thread's name, e.g. "orange simulator"
        self._log = log
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults = FaultInjector(seed)
        self._network = Network(network)
        self._callback_pusher = pusher
        self._server = ThreadedServer(self._serve, name=title.replace(" ", "-"))

    # -- lifecycle -------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = a free port) and start the callback worker, if any;
        returns the base URL (also `url`)."""
        self._server.start(host, port)
        if self._callback_pusher is not None:
            self._callback_pusher.start()
        self._log.info("%s listening url=%s", self._title, self._server.url)
        return self._server.url

    def stop(self) -> None:
        """Release held requests, stop serving, end the callback worker, if any; final."""
        self._stopping.set()
        self._server.stop()
        if self._callback_pusher is not None:
            self._callback_pusher.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        return self._server.url

    # -- faults ----------------------------------------------------------------

    def set_faults(self, plan: FaultPlan | None = None, *, seed: int | None = None) -> None:
        """Inject faults into the carrier calls the simulator's module names (sends, submits,
        status calls) from now on; None clears them. A `seed` makes the draws replayable."""
        if seed is not None:
            self._faults.reseed(seed)
        self._faults.plan = plan or FaultPlan()
        self._log.info("faults set plan=%s", self._faults.plan)

    def faults_injected(self) -> dict[str, int]:
        """How many faults of each kind the simulator injected so far."""
        return self._faults.injected()

    def _set_faults_over_http(self, request: Request) -> Response:
        """POST /_sim/faults: a JSON FaultPlan, echoed; 400 naming what is wrong with it."""
        try:
            plan = FaultPlan.from_json(request.get_json(silent=True))
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
        self.set_faults(plan)
        return json_response(asdict(plan))

    # -- network ---------------------------------------------------------------

    def set_network(self, delay: NetworkDelay | None) -> None:
        """Delay every later request, both ways, as `delay` says (None: answer at once, the
        default). Its seed restarts the draws; the counters carry on."""
        self._network.set(delay)
        self._log.info("network set delay=%s", delay)

    def network_stats(self) -> NetworkStats:
        """The current network and the delays it applied since start (every setting's)."""
        return self._network.stats()

    # -- WSGI ------------------------------------------------------------------

    def _serve(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        """Every request the server takes. One delay on its way in, before `_wsgi` sees it (a
        send is counted in the rate window when it arrives, as at the carrier), and one on
        its way out: `_wsgi` returns the answer built, and the server writes its status line
        and headers only when it reads the body from what is returned here."""
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self._wsgi(environ, start_response)
        self._cross(self._network.inbound())
        answer = self._wsgi(environ, start_response)
        self._cross(self._network.outbound())
        return answer

    def _cross(self, seconds: float) -> None:
        """Take `seconds` over a trip; `stop()` cuts it short."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def _wsgi(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        raise NotImplementedError
