"""moto's server in a process of its own, as AWS is an outside system.

The local stack's own process serves the API front, the SQS and stream pollers and the
scheduler. Sharing one GIL with them, moto answered the functions' requests late and unevenly
whenever a poller or the API front held the interpreter: one account's backlog slowed every
other account's requests, a contention that AWS, serving each request on its own machines,
does not have. In its own process (`python -m infra.local.moto.server`) moto has its own
interpreter, with the patches of `infra.local.moto` applied there.
"""

import logging

from moto.server import ThreadedMotoServer

from infra.local.child_process import ChildProcess, serve_until_closed, setup
from infra.local.moto import adapt_moto


class MotoProcess:
    """moto's server in a child process, on `host` and `port` (0: a free one)."""

    def __init__(self, host: str, port: int) -> None:
        self._child = ChildProcess(__name__, {"host": host, "port": port}, "moto")
        self.host, self.port = host, int(self._child.answer)

    @property
    def pid(self) -> int:
        return self._child.pid

    def stop(self) -> None:
        self._child.end()


def _serve() -> None:
    options = setup()
    logging.basicConfig(level=logging.WARNING)
    # werkzeug sets its own logger to INFO when it finds it unset, and would then log every
    # request moto serves (every SQS poll) to the terminal.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    adapt_moto()
    server = ThreadedMotoServer(ip_address=options["host"], port=options["port"], verbose=False)
    server.start()
    serve_until_closed(server.get_host_and_port()[1])
    server.stop()


if __name__ == "__main__":
    _serve()
