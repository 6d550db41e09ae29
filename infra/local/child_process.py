"""A process of the local stack's own (moto, a carrier simulator), as outside systems have
their own machines: started as `python -m <module>`, told its setup on stdin in one JSON line,
it answers one line (where it serves) and runs until its stdin closes, so it never outlives
the stack. The child reads its setup with `setup()` and waits with `serve_until_closed()`."""

import json
import subprocess  # nosec B404 # our interpreter, our modules, never a shell
import sys
import threading
from collections.abc import Mapping
from typing import Any

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


class ChildProcess:
    def __init__(self, module: str, setup: Mapping[str, Any], name: str) -> None:
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603
            [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            self.answer = self._handshake(json.dumps(setup), name)
        except BaseException:
            self.end()
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    def _handshake(self, setup: str, name: str) -> str:
        """Send the child its setup; its answer line."""
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError(f"the {name} process has no pipes")
        stdin.write(setup + "\n")
        stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        if not answer or not answer[0].strip():
            raise RuntimeError(f"the {name} process did not start")
        return answer[0].strip()

    def end(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()  # the child's cue to exit
        try:
            self._process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def setup() -> dict[str, Any]:
    """In the child: the setup its parent sent."""
    loaded: dict[str, Any] = json.loads(sys.stdin.readline())
    return loaded


def serve_until_closed(answer: object) -> None:
    """In the child: answer the parent, then return when it closes stdin (or dies)."""
    print(answer, flush=True)
    sys.stdin.read()
