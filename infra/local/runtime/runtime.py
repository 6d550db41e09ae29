"""Runs each function in worker processes, as Lambda runs it in execution environments.

A function has a pool of workers (`python -m infra.local.runtime.worker`), up to its concurrency.
A worker imports the handler once and serves invocations one at a time (warm starts). An
invocation that outlives the function's Timeout kills its worker, as Lambda does; a dead
worker is replaced by a fresh one at the next invocation. The handler's stdout and stderr
go to `<logs_dir>/<LogicalId>.log`.

For fault injection, a function can be given a kill point (`FunctionRuntime.arm_kill_point`):
in the invocations it starts from then on, as soon as a named function of the handler's code
returns something, the worker asks, and while kills remain it is told to SIGKILL itself (see
`infra.local.runtime.worker`): a run ends invocations at an exact step, as Lambda ends an
execution environment that crashed there.
"""

import json
import logging
import os
import socket
import subprocess  # nosec B404 # workers run our own module, never a shell
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from infra.local.aws import FAKE_CREDENTIALS
from infra.local.template.functions import FunctionSpec

logger = logging.getLogger(__name__)

INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit for a cold start's init phase
STOP_GRACE_SECONDS = 2.0
# Variables a process needs to run at all; everything else, notably the developer's own
# AWS_* settings, stays out of the functions' environment, as it is out of Lambda's.
_INHERITED_VARIABLES = ("PATH", "LANG", "LC_ALL", "TMPDIR")


@dataclass(frozen=True)
class InvokeError:
    error_type: str
    message: str


@dataclass(frozen=True)
class Invocation:
    """One invocation's outcome: the handler's result, or the error Lambda would report."""

    request_id: str
    result: Any = None
    error: InvokeError | None = None
    killed_at: str | None = None  # the kill point that ended it, if one did


def lambda_environment(
    function: FunctionSpec, aws_endpoint_url: str, region: str
) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at the local AWS endpoint."""
    environment = {name: os.environ[name] for name in _INHERITED_VARIABLES if name in os.environ}
    environment.update(function.environment)
    # Lambda's reserved variables win over the template's, as on Lambda.
    environment.update(
        {
            # The task root first, then the layers: Lambda's /var/task, then /opt/python.
            "PYTHONPATH": os.pathsep.join(
                str(p) for p in (function.code_dir, *function.layer_dirs)
            ),
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler,
            "AWS_ENDPOINT_URL": aws_endpoint_url,
            **FAKE_CREDENTIALS,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            # No profiles or endpoints from the developer's ~/.aws files.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "TZ": ":UTC",
            # There is no X-Ray daemon to send traces to.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    return environment


class _Worker:
    """One worker process and the socket its invocations travel over."""

    def __init__(self, environment: Mapping[str, str], cwd: Path, log: IO[bytes]) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
            self._process = subprocess.Popen(  # noqa: S603 - our interpreter, our module  # nosec B603
                [sys.executable, "-u", "-m", "infra.local.runtime.worker", str(theirs.fileno())],
                cwd=cwd,
                env={**environment, "AWS_LAMBDA_LOG_STREAM_NAME": stream},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(theirs.fileno(),),
                # Its own process group: Ctrl-C reaches the local stack, which stops workers.
                process_group=0,
            )
        self._connection = Connection(ours.detach())
        self._ready = False
        self.killed = False
        self._killed_at: str | None = None  # the kill point it was told to die at

    @property
    def pid(self) -> int:
        return self._process.pid

    def invoke(
        self,
        function: FunctionSpec,
        request_id: str,
        event: Any,
        kill_at: str | None = None,
        may_kill: Callable[[], bool] = lambda: False,
    ) -> Invocation:
        if not self._ready:
            ready = self._exchange(None, INIT_TIMEOUT_SECONDS)
            if isinstance(ready, InvokeError):
                return Invocation(request_id, error=ready)
            self._ready = True
        request = {
            "requestId": request_id,
            "invokedFunctionArn": function.arn,
            "deadlineMs": int((time.time() + function.timeout) * 1000),
            "event": event,
        }
        if kill_at is not None:
            request["killAt"] = kill_at
        reply = self._exchange(request, function.timeout, may_kill)
        if isinstance(reply, InvokeError):
            return Invocation(request_id, error=reply, killed_at=self._killed_at)
        if "error" in reply:
            error = reply["error"]
            return Invocation(
                request_id, error=InvokeError(error["errorType"], error["errorMessage"])
            )
        return Invocation(request_id, result=reply["result"])

    def _exchange(
        self, request: object, timeout: float, may_kill: Callable[[], bool] = lambda: False
    ) -> dict[str, Any] | InvokeError:
        """Send `request` (if any) and wait for the reply; kill the worker past `timeout`. A
        worker at its kill point asks first whether to die there: `may_kill` answers."""
        deadline = time.monotonic() + timeout
        try:
            if request is not None:
                self._connection.send_bytes(json.dumps(request).encode())
            while True:
                if not self._connection.poll(max(0.0, deadline - time.monotonic())):
                    self.kill()
                    return InvokeError(
                        "Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds"
                    )
                reply: dict[str, Any] = json.loads(self._connection.recv_bytes())
                if "killPoint" not in reply:
                    break
                kill = may_kill()
                if kill:
                    self._killed_at = str(reply["killPoint"])
                self._connection.send_bytes(json.dumps({"kill": kill}).encode())
        except (EOFError, OSError):
            self.killed = True
            return InvokeError("Runtime.ExitError", f"Runtime exited with error: {self._exit()}")
        return reply

    def _exit(self) -> str:
        try:
            code = self._process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:  # it closed its socket yet lives on: end it
            self._process.kill()
            code = self._process.wait()
        return f"signal: {-code}" if code < 0 else f"exit status {code}"

    def kill(self) -> None:
        """SIGKILL, as Lambda ends an execution environment that timed out."""
        self.killed = True
        self._process.kill()

    def close(self) -> None:
        """Ask an idle worker to exit (EOF on its socket), kill it if it lingers, reap it."""
        self._connection.close()
        try:
            self._process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning("worker did not exit, killed: pid=%s", self.pid)
            self._process.kill()
            self._process.wait()


class FunctionPool:
    """The workers of one function: up to its concurrency at once, reused while healthy."""

    def __init__(
        self, function: FunctionSpec, environment: Mapping[str, str], log_path: Path
    ) -> None:
        self.function = function
        self._environment = environment
        log_path.write_bytes(b"")
        self._log = log_path.open("ab")
        self._condition = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._stopped = False
        self._kill_point: str | None = None
        self._kills_left = 0
        self._killed_events: list[Any] = []

    def prewarm(self) -> None:
        """Start one worker now, so the first invocation finds its handler imported."""
        with self._condition:
            if not self._idle and not self._busy:
                self._idle.append(self._spawn())

    def _spawn(self) -> _Worker:
        return _Worker(self._environment, self.function.code_dir, self._log)

    def invoke(self, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        worker = self._acquire()
        if worker is None:
            return Invocation(request_id, error=InvokeError("LocalStack.Stopped", "stack stopping"))
        with self._condition:
            kill_at = self._kill_point if self._kills_left > 0 else None
        try:
            invocation = worker.invoke(
                self.function, request_id, event, kill_at, lambda: self._kill_at_point(event)
            )
        finally:
            self._release(worker)
        if invocation.error is not None:
            logger.warning(
                "invocation failed: function=%s request_id=%s error_type=%s",
                self.function.logical_id,
                request_id,
                invocation.error.error_type,
            )
        return invocation

    def _acquire(self) -> _Worker | None:
        with self._condition:
            while not self._stopped:
                if self._idle:
                    worker = self._idle.pop()
                elif len(self._busy) < self.function.concurrency:
                    worker = self._spawn()
                else:
                    self._condition.wait()
                    continue
                self._busy.add(worker)
                return worker
            return None

    def _release(self, worker: _Worker) -> None:
        with self._condition:
            self._busy.discard(worker)
            reusable = not worker.killed and not self._stopped
            if reusable:
                self._idle.append(worker)
            self._condition.notify()
        if not reusable:
            worker.close()

    def arm_kill_point(self, target: str | None, times: int = 1) -> None:
        """Have `times` invocations in all killed at `target` ("package.module:Class.method"
        or "package.module:function", looked up at call time, returning something truthy):
        the invocations started from now on, while kills remain, carry the point, and the
        first `times` of them to reach it die there. None disarms."""
        with self._condition:
            self._kill_point, self._kills_left = target, times if target else 0

    def killed_at_kill_point(self) -> list[Any]:
        """The events of the invocations the kill point ended, oldest first."""
        with self._condition:
            return list(self._killed_events)

    def _kill_at_point(self, event: Any) -> bool:
        """An invocation reached the kill point: whether it dies there (a kill remains)."""
        with self._condition:
            if self._kills_left <= 0:
                return False
            self._kills_left -= 1
            self._killed_events.append(event)
            return True

    def kill_in_flight(self) -> int:
        """Kill every worker busy with an invocation (which then fails); returns how many."""
        with self._condition:
            busy = list(self._busy)
        for worker in busy:
            worker.kill()
        return len(busy)

    def pids(self) -> list[int]:
        with self._condition:
            return [worker.pid for worker in (*self._idle, *self._busy)]

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            idle, self._idle = self._idle, []
            self._condition.notify_all()
        for worker in idle:
            worker.close()
        self.kill_in_flight()  # their invoking threads reap them
        self._log.close()  # the workers hold their own copies of the descriptor


class FunctionRuntime:
    """Every function's pool, addressed by logical id."""

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        *,
        aws_endpoint_url: str,
        region: str,
        logs_dir: Path,
    ) -> None:
        logs_dir.mkdir(parents=True, exist_ok=True)
        self._pools = {
            function.logical_id: FunctionPool(
                function,
                lambda_environment(function, aws_endpoint_url, region),
                logs_dir / f"{function.logical_id}.log",
            )
            for function in functions
        }

    @property
    def functions(self) -> list[FunctionSpec]:
        return [pool.function for pool in self._pools.values()]

    def _pool(self, logical_id: str) -> FunctionPool:
        if logical_id not in self._pools:
            raise KeyError(f"no function {logical_id!r} in the template")
        return self._pools[logical_id]

    def start(self) -> None:
        for pool in self._pools.values():
            pool.prewarm()

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        return self._pool(logical_id).invoke(event)

    def kill_in_flight(self, logical_id: str) -> int:
        return self._pool(logical_id).kill_in_flight()

    def arm_kill_point(self, logical_id: str, target: str | None, times: int = 1) -> None:
        """See `FunctionPool.arm_kill_point`."""
        self._pool(logical_id).arm_kill_point(target, times)

    def killed_at_kill_point(self, logical_id: str) -> list[Any]:
        return self._pool(logical_id).killed_at_kill_point()

    def worker_pids(self) -> list[int]:
        return [pid for pool in self._pools.values() for pid in pool.pids()]

    def stop(self) -> None:
        for pool in self._pools.values():
            pool.stop()
