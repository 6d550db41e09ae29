"""moto's server in a process of its own, as AWS is an outside system.

The local stack's own process serves the API front, the SQS and stream pollers and the
scheduler. Sharing one GIL with them, moto answered the functions' requests late and unevenly
whenever a poller or the API front held the interpreter: one account's backlog slowed every
other account's requests, a contention that AWS, serving each request on its own machines,
does not have. In its own process moto has its own interpreter, with the patches of
`infra.local.moto` applied there.

The child (`python -m infra.local.moto.server`) reads its host and port on stdin, answers with
the port it listens on, and serves until its stdin closes, so it never outlives the stack.
"""

import json
import logging
import subprocess  # nosec B404 # our interpreter, our module, never a shell
import sys
import threading

from moto.server import ThreadedMotoServer

from infra.local.moto import adapt_moto

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


class MotoProcess:
    """moto's server in a child process, on `host` and `port` (0: a free one)."""

    def __init__(self, host: str, port: int) -> None:
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            self.host, self.port = host, self._handshake(host, port)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    def _handshake(self, host: str, port: int) -> int:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the moto process has no pipes")
        stdin.write(json.dumps({"host": host, "port": port}) + "\n")
        stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        if not answer or not answer[0].strip().isdigit():
            raise RuntimeError("the moto process did not start")
        return int(answer[0])

    def stop(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()  # the child's cue to exit
        try:
            self._process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _serve() -> None:
    setup = json.loads(sys.stdin.readline())
    logging.basicConfig(level=logging.WARNING)  # werkzeug would log every request
    adapt_moto()
    server = ThreadedMotoServer(ip_address=setup["host"], port=setup["port"], verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # until the parent closes it, or dies
    server.stop()


if __name__ == "__main__":
    _serve()
