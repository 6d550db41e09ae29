"""Plumbing shared by the carrier simulators.

A WSGI app served on a daemon thread (loopback, port 0 picks a free port), JSON
responses, an abrupt connection reset for fault injection, and phone-number masking
for the simulators' logs. Their command lines are in `_cli`.
"""

import json
import logging
import socket
import struct
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)


class _LoggingRequestHandler(WSGIRequestHandler):
    """Sends access lines to `logging` at DEBUG instead of werkzeug's stderr lines."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("request handled method=%s path=%s status=%s", self.command, self.path, code)

    def connection_dropped(
        self, error: BaseException, environ: "WSGIEnvironment | None" = None
    ) -> None:
        # Stop the keep-alive loop, or it would parse an unread body as the next request.
        self.close_connection = True


class ThreadedServer:
    """Serves a WSGI app from a daemon thread, one thread per request."""

    def __init__(self, app: "WSGIApplication", name: str) -> None:
        self._app = app
        self._name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind and serve; port 0 lets the OS pick a free port (see `url`)."""
        if self._server is not None:
            raise RuntimeError("server already started")
        server = make_server(
            host, port, self._app, threaded=True, request_handler=_LoggingRequestHandler
        )
        # A short poll keeps stop() quick: shutdown() waits for the loop's next poll.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self._name,
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop accepting requests and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()  # serve_forever returns, then closes the listening socket
        thread.join()
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("server not started")
        return f"http://{self._server.host}:{self._server.port}"


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with the given status."""
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def drop_connection(environ: "WSGIEnvironment") -> NoReturn:
    """Reset the client's connection without any HTTP response, like a crashed proxy."""
    sock: socket.socket = environ["werkzeug.socket"]
    # A zero linger makes the final close send RST instead of a graceful FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats ConnectionError as a dropped connection: no response, no traceback.
    raise ConnectionAbortedError("connection dropped by fault injection")


def mask_number(number: str) -> str:
    """Mask a phone number for logs, keeping only its last two digits."""
    digits = number.removeprefix("tel:").removeprefix("+")
    return "*" * max(len(digits) - 2, 0) + digits[-2:]
