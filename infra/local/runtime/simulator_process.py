"""Carrier simulators in processes of their own, as the carriers are outside systems.

The local stack's own process serves the API front and the pollers; under load it keeps a
core busy. A simulator sharing its GIL answers late and stamps its sends late and unevenly,
so its sliding-window cap refuses sends the gateway spaced correctly. In its own process a
simulator keeps its own clock, as Orange does.

The child (`python -m infra.local.runtime.simulator_process`) serves a multiprocessing manager; the
proxy it hands back runs each public method of the simulator in the child (arguments and
results pickled), so tests and benchmarks control it as they would the object itself. The
child is started as a plain command (`infra.local.child_process`), not by multiprocessing's
spawn, which would import the caller's main script again.
"""

import importlib
import logging
import threading
from multiprocessing.managers import BaseManager
from secrets import token_bytes
from typing import Any, cast

from infra.local.child_process import ChildProcess, serve_until_closed, setup
from infra.simulators._simulator import SimulatorBase

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _SimulatorManager(BaseManager):
    @classmethod
    def serving(cls, kind: type[SimulatorBase]) -> str:
        """Register `kind` (again: the same entry) and return its type id. Its proxy exposes
        the class's public methods: listing them on the object would read `url` too early."""
        methods = [name for name in dir(kind) if name[0] != "_" and callable(getattr(kind, name))]
        cls.register(kind.__qualname__, kind, exposed=methods)
        return kind.__qualname__


class SimulatorProcess[T: SimulatorBase]:
    """A simulator of class `kind`, built with `options` in a new process and serving on
    `host` (a free port) until `stop()`."""

    def __init__(self, kind: type[T], host: str, **options: Any) -> None:
        self.kind = kind
        authkey = token_bytes(32)
        root = logging.getLogger()
        parameters = {
            "kind": f"{kind.__module__}:{kind.__qualname__}",
            "authkey": authkey.hex(),
            "log_level": root.getEffectiveLevel(),
            "log_files": [
                h.baseFilename for h in root.handlers if isinstance(h, logging.FileHandler)
            ],
        }
        self._child = ChildProcess(__name__, parameters, kind.__name__)
        try:
            self._manager = _SimulatorManager(address=self._child.answer, authkey=authkey)
            self._manager.connect()
            self._proxy = getattr(self._manager, _SimulatorManager.serving(kind))(**options)
            self.url: str = self._proxy.start(host, 0)
        except BaseException:
            self._child.end()
            raise

    @property
    def simulator(self) -> T:
        """The simulator's public methods, each run in its process."""
        return cast(T, self._proxy)

    def stop(self) -> None:
        """Stop the simulator (held answers released, callbacks ended), then its process."""
        try:
            self._proxy.stop()
        finally:
            self._child.end()


def _serve() -> None:
    """The child: register the simulator class, serve the manager, exit when stdin closes."""
    options = setup()
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    handlers += [logging.FileHandler(path) for path in options["log_files"]]  # appends
    logging.basicConfig(level=options["log_level"], format=LOG_FORMAT, handlers=handlers)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    module, _, qualname = options["kind"].partition(":")
    _SimulatorManager.serving(getattr(importlib.import_module(module), qualname))
    server = _SimulatorManager(authkey=bytes.fromhex(options["authkey"])).get_server()
    threading.Thread(target=server.serve_forever, name="simulator-manager", daemon=True).start()
    serve_until_closed(server.address)


if __name__ == "__main__":
    _serve()
