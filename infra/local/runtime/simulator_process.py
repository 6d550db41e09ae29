"""Carrier simulators in processes of their own, as the carriers are outside systems.

The local stack's own process serves moto, the API front and the pollers; under load it keeps
a core busy. A simulator sharing its GIL answers late and stamps its sends late and unevenly,
so its sliding-window cap refuses sends the gateway spaced correctly. In its own process a
simulator keeps its own clock, as Orange does.

The child (`python -m infra.local.runtime.simulator_process`) serves a multiprocessing manager; the
proxy it hands back runs each public method of the simulator in the child (arguments and
results pickled), so tests and benchmarks control it as they would the object itself. The
child is started as a plain command, not by multiprocessing's spawn, which would import the
caller's main script again; it ends when its stdin closes, so it never outlives the stack.
"""

import importlib
import json
import logging
import subprocess  # nosec B404 # our interpreter, our module, never a shell
import sys
import threading
from multiprocessing.managers import BaseManager
from secrets import token_bytes
from typing import Any, cast

from infra.simulators._simulator import SimulatorBase

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


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
        setup = {
            "kind": f"{kind.__module__}:{kind.__qualname__}",
            "authkey": authkey.hex(),
            "log_level": root.getEffectiveLevel(),
            "log_files": [
                h.baseFilename for h in root.handlers if isinstance(h, logging.FileHandler)
            ],
        }
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            address = self._handshake(json.dumps(setup))
            self._manager = _SimulatorManager(address=address, authkey=authkey)
            self._manager.connect()
            self._proxy = getattr(self._manager, _SimulatorManager.serving(kind))(**options)
            self.url: str = self._proxy.start(host, 0)
        except BaseException:
            self._end_process()
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
            self._end_process()

    def _handshake(self, setup: str) -> str:
        """Send the child its setup; read back the address its manager listens on."""
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the simulator process has no pipes")
        stdin.write(setup + "\n")
        stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        if not answer or not answer[0].strip():
            raise RuntimeError(f"the {self.kind.__name__} process did not start")
        return answer[0].strip()

    def _end_process(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # the child's cue to exit
        try:
            self._process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _serve() -> None:
    """The child: register the simulator class, serve the manager, exit when stdin closes."""
    setup = json.loads(sys.stdin.readline())
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    handlers += [logging.FileHandler(path) for path in setup["log_files"]]  # appends
    logging.basicConfig(level=setup["log_level"], format=LOG_FORMAT, handlers=handlers)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    module, _, qualname = setup["kind"].partition(":")
    _SimulatorManager.serving(getattr(importlib.import_module(module), qualname))
    server = _SimulatorManager(authkey=bytes.fromhex(setup["authkey"])).get_server()
    threading.Thread(target=server.serve_forever, name="simulator-manager", daemon=True).start()
    print(server.address, flush=True)
    sys.stdin.read()  # until the parent closes it, or dies


if __name__ == "__main__":
    _serve()
