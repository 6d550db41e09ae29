"""The simulators' command lines: the options they share, and serving until a signal.

Each simulator's `main` takes a parser from `parser()` (--host, --port), adds its own
options, each named (`dest`) after the constructor argument it sets, and hands it to
`serve()`, which adds --seed and --network, builds the simulator from the options, serves it
until SIGINT or SIGTERM, then stops it and returns the exit status.
"""

import argparse
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Protocol

from infra.simulators._network import NetworkDelay

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class Simulator(Protocol):
    def start(self, host: str, port: int) -> object: ...

    def stop(self) -> None: ...


def parser(description: str, *, port: int) -> argparse.ArgumentParser:
    """A parser with the options every simulator takes first: --host, and --port."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def serve(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    simulator_class: Callable[..., Simulator],
    *,
    log: logging.Logger,
    name: str,
) -> int:
    """Parse `argv` (with --seed and --network, every simulator's last options), build the
    simulator with the options other than --host and --port as keyword arguments, serve it on
    --host and --port until SIGINT or SIGTERM, then stop it cleanly."""
    parser.add_argument("--seed", type=int, help="fault injection RNG seed")
    parser.add_argument(
        "--network",
        choices=["off", "realistic"],
        default="off",
        help="delay each request both ways: realistic is 60 ms ± 25 ms, 1%% 300 ms more",
    )
    options = vars(parser.parse_args(argv))
    host, port = options.pop("host"), options.pop("port")
    options["network"] = NetworkDelay.realistic() if options["network"] == "realistic" else None
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    simulator = simulator_class(**options)
    simulator.start(host, port)
    try:
        wait_for_termination()
    finally:
        simulator.stop()
    log.info("%s stopped", name)
    return 0


def wait_for_termination() -> None:
    """Block the calling (main) thread until SIGINT or SIGTERM arrives."""
    received = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    received.wait()
