"""One Lambda execution environment: imports a handler once, then serves invocations.

Started by `infra.local.runtime.runtime` as `python -u -m infra.local.runtime.worker <fd>`, with the
function's folder as working directory and on PYTHONPATH (Lambda's task root), its layers
on PYTHONPATH (Lambda's /opt/python) and the function's environment. Requests and replies
travel over the socket `fd`, one JSON document per message, because the handler owns
stdout and stderr: its logs and EMF metrics go there, as on Lambda.

A request may name a kill point (`killAt`, "package.module:Class.method"): in that
invocation, as soon as that function returns something truthy, before its caller sees it, the
worker asks the local stack over the socket and, told to, SIGKILLs itself (fault injection: an
invocation ended at an exact step, whichever of the handler's threads reached it); told not
to, it carries on with the point disarmed.

Only the standard library is imported here, so the handler sees its own dependencies.
"""

import functools
import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

type Handler = Callable[[Any, "LambdaContext"], Any]


class LambdaContext:
    """The context object Lambda passes to Python handlers."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's error reply; the traceback also goes to the function's log, as on Lambda."""
    stack = traceback.format_tb(exc.__traceback__)
    print(f"[ERROR] {type(exc).__name__}: {exc}", "".join(stack), sep="\n", file=sys.stderr)
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": stack,
    }


class _KillPoint:
    """The kill point of the invocation being served, if any. A target is wrapped the first
    time it is named (looked up at call time, as a method on its class is), and stays
    wrapped, inert while no invocation names it."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._armed: str | None = None
        self._wrapped: set[str] = set()
        self._asking = threading.Lock()

    def arm(self, target: str | None) -> None:
        if target is not None and target not in self._wrapped:
            self._wrap(target)
            self._wrapped.add(target)
        self._armed = target

    def _wrap(self, target: str) -> None:
        module_name, _, path = target.partition(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if result and self._armed == target:
                self._reached(target)
            return result

        setattr(owner, name, wrapper)

    def _reached(self, target: str) -> None:
        with self._asking:  # one thread at a time talks to the local stack
            if self._armed != target:
                return
            self._connection.send_bytes(json.dumps({"killPoint": target}).encode())
            if not json.loads(self._connection.recv_bytes()).get("kill"):
                self._armed = None  # no kill left for it: the invocation runs on
                return
            print(f"KILLED at kill point {target}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


def _load_handler(spec: str) -> Handler:
    # Lambda's handler string: "path/to/module.function".
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    handler: Handler = getattr(module, function_name)
    return handler


def _invoke(handler: Handler, request: dict[str, Any]) -> bytes:
    request_id = request["requestId"]
    context = LambdaContext(request_id, request["invokedFunctionArn"], request["deadlineMs"])
    print(f"START RequestId: {request_id} Version: {context.function_version}")
    started = time.monotonic()
    try:
        result = handler(request["event"], context)
    except Exception as exc:  # the handler's error is the reply, as on Lambda
        reply = json.dumps({"error": _error(exc)})
    else:
        try:
            reply = json.dumps({"result": result})
        except (TypeError, ValueError) as exc:  # Lambda returns JSON, so it fails the same
            reply = json.dumps({"error": _error(exc, "Runtime.MarshalError")})
    duration_ms = (time.monotonic() - started) * 1000
    print(f"END RequestId: {request_id}")
    print(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms")
    return reply.encode()


def main() -> None:
    connection = Connection(int(sys.argv[1]))
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except Exception as exc:  # reported on every invocation, as Lambda reports an init error
        init_error = json.dumps({"error": _error(exc, "Runtime.ImportModuleError")}).encode()
        handler = None
    connection.send_bytes(b'{"ready": true}')
    kill_point = _KillPoint(connection)
    while True:
        try:
            request = json.loads(connection.recv_bytes())
        except EOFError:  # the local stack closed our socket: shut down
            return
        if handler is None:
            connection.send_bytes(init_error)
            continue
        try:
            kill_point.arm(request.get("killAt"))
        except Exception as exc:  # a kill point that names nothing: the invocation fails
            error = _error(exc, "LocalStack.KillPoint")
            connection.send_bytes(json.dumps({"error": error}).encode())
            continue
        reply = _invoke(handler, request)
        kill_point.arm(None)
        connection.send_bytes(reply)


if __name__ == "__main__":
    main()
