"""Orange Poland MMSDeliveryStatus simulator: a loopback stand-in for apigateway-prd.orange.pl.

It serves what shared/seeds/orange-pl-mms-delivery-status.txt describes, errors included:

    POST /oauth/v2/token  (and /oauth/v3/token)    client credentials, HTTP Basic
    GET  /Messaging/v1/MMSDeliveryStatus?id=<id>   {"status": "<one of STATUSES>"}
    GET  /Messaging/v1/MMSDeliveryStatus/limit     {"available", "date", "used"}, all strings

and, without authentication, control endpoints for tests:

    POST /_sim/messages        {"id": ..., "script": [...]} registers a message (script optional)
    POST /_sim/faults          JSON FaultPlan: http_500, http_503, http_504, timeout, reset,
                               rate_burst odds
    POST /_sim/expire-tokens   every issued token expires now
    POST /_sim/reset-limit     the call counter starts again from 0
    GET  /_sim/stats           counters (see `Stats`)

With a `network` (a `NetworkDelay`, e.g. `NetworkDelay.realistic()`; `set_network` changes
it), every request but the control endpoints is delayed on its way in and again on its way
out, so a status call is counted when it arrives; `network_stats()` tells the delays applied.

A message's status moves one step along its script with each poll and then stays on the
last step. `register(id)` gives a message the script its id's prefix chooses
(`SCRIPTS_BY_PREFIX`), else `DEFAULT_SCRIPT`:

    (no prefix)       Success, then Retrieved
    rejected-         Success, then Rejected
    expired-          Success, then Expired
    indeterminate-    Success, then Indeterminate
    server-error-     Server Error, then Retrieved
    client-error-     Client error
    retrieved-        Success, then Retrieved

An id with one of these prefixes needs no registration (the MMS was sent through MMSONnet,
which is not simulated); any other unregistered id is "Message ID Not found".

Assumptions where the seed is silent:

- The token endpoint answers like Orange's (`expires_in` a string of seconds); a missing
  and an unknown bearer token both get code 41, an expired one code 42.
- `used` counts the status calls answered with a status, whatever the status; calls refused
  (401, 403, injected faults) and limit look-ups are not counted. With `limit` set, the call
  after the last available one is refused 403 code 53. The counter resets after the `date`
  shown, the last day of the current month (UTC), or on `reset_limit()`.
- A status call without an `id` is an invalid request: `{"status": "Client error"}`.
- Unknown paths get 404 code 60, wrong methods 405 code 61, injected server errors 500
  code 1 and 503 code 5, as on Orange's other APIs, and an injected 504 no Orange body, as
  from an API front; none moves the message's script. Faults apply to status calls only.
"""

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypedDict

from werkzeug.exceptions import GatewayTimeout, HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from infra.simulators import _cli
from infra.simulators._faults import Fault, FaultPlan
from infra.simulators._http import drop_connection, json_response
from infra.simulators._network import NetworkDelay, NetworkStats
from infra.simulators._oauth import TokenIssuer
from infra.simulators._orange_wire import (
    internal_error,
    method_not_allowed,
    not_found,
    service_unavailable,
    too_many_requests,
)
from infra.simulators._simulator import SimulatorBase, zero_counts

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_SCRIPT",
    "SCRIPTS_BY_PREFIX",
    "STATUSES",
    "FaultPlan",
    "NetworkDelay",
    "NetworkStats",
    "OrangePlSimulator",
    "Stats",
    "script_for",
]

logger = logging.getLogger(__name__)

DEFAULT_CLIENT_ID: Final = "local-pl-client"
DEFAULT_CLIENT_SECRET: Final = "local-pl-secret"  # noqa: S105 - a loopback-only test credential

STATUSES: Final = (
    "Success",
    "Client error",
    "Address Error",
    "Message ID Not found",
    "Message format corrupt",
    "Server Error",
    "Partial success",
    "Operation restricted",
    "Address Not Found",
    "LinkedID not found",
    "Retrieved",
    "Rejected",
    "Expired",
    "Indeterminate",
)
"""Every status the seed's table lists."""
NOT_FOUND: Final = "Message ID Not found"
INVALID_REQUEST: Final = "Client error"

DEFAULT_SCRIPT: Final = ("Success", "Retrieved")
SCRIPTS_BY_PREFIX: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "rejected-": ("Success", "Rejected"),
        "expired-": ("Success", "Expired"),
        "indeterminate-": ("Success", "Indeterminate"),
        "server-error-": ("Server Error", "Retrieved"),
        "client-error-": ("Client error",),
        "retrieved-": DEFAULT_SCRIPT,
    }
)
"""The statuses successive polls of a message return, by its id's prefix."""


def script_for(message_id: str) -> tuple[str, ...] | None:
    """The script an id's prefix chooses, None when it has none of SCRIPTS_BY_PREFIX."""
    return next(
        (script for prefix, script in SCRIPTS_BY_PREFIX.items() if message_id.startswith(prefix)),
        None,
    )


class _Counts(TypedDict):
    """What the simulator counts as requests come, each declared here only."""

    token_requests: int
    status_calls: int  # answered with a status
    limit_calls: int
    rejected_401: int
    rejected_53: int


class Stats(_Counts):
    """Counters since start; faults are the injector's (`faults_injected()`, summed)."""

    faults_injected: int


@dataclass(slots=True)
class _Message:
    script: tuple[str, ...]
    polls: int = 0

    def poll(self) -> str:
        status = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        return status


def _last_day_of_month(day: date) -> date:
    first_of_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next - timedelta(days=1)


def _today() -> date:
    return datetime.now(UTC).date()


_STATUS_PATH: Final = "/Messaging/v1/MMSDeliveryStatus"
_ROUTES: Final = Map(
    [
        Rule("/oauth/v2/token", endpoint="token", methods=["POST"]),
        Rule("/oauth/v3/token", endpoint="token", methods=["POST"]),
        Rule(_STATUS_PATH, endpoint="status", methods=["GET"]),
        Rule(f"{_STATUS_PATH}/limit", endpoint="limit", methods=["GET"]),
        Rule("/_sim/messages", endpoint="sim_messages", methods=["POST"]),
        Rule("/_sim/faults", endpoint="sim_faults", methods=["POST"]),
        Rule("/_sim/expire-tokens", endpoint="sim_expire_tokens", methods=["POST"]),
        Rule("/_sim/reset-limit", endpoint="sim_reset_limit", methods=["POST"]),
        Rule("/_sim/stats", endpoint="sim_stats", methods=["GET"]),
    ]
)
_PROTECTED_ENDPOINTS: Final = frozenset({"status", "limit"})


class OrangePlSimulator(SimulatorBase):
    """Orange Poland's MMSDeliveryStatus API on loopback; every public method is thread-safe."""

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_lifetime: int = 3600,
        limit: int | None = None,
        seed: int | None = None,
        network: NetworkDelay | None = None,
    ) -> None:
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        self._tokens = TokenIssuer({client_id: client_secret}, lifetime=token_lifetime)
        self._limit = limit
        super().__init__(title="orange pl simulator", log=logger, seed=seed, network=network)
        self._counts = zero_counts(_Counts)
        self._messages: dict[str, _Message] = {}
        self._used = 0
        self._reset_date = _last_day_of_month(_today())
        self._handlers: Mapping[str, Callable[[Request], Response]] = {
            "token": self._issue_token,
            "status": self._status,
            "limit": self._show_limit,
            "sim_messages": self._register_over_http,
            "sim_faults": self._set_faults_over_http,
            "sim_expire_tokens": lambda request: json_response({"expired": self.expire_tokens()}),
            "sim_reset_limit": lambda request: json_response({"used": self.reset_limit()}),
            "sim_stats": lambda request: json_response(self.stats()),
        }

    # -- inspection and control ------------------------------------------------

    def stats(self) -> Stats:
        """The counters, also served at GET /_sim/stats."""
        faults = sum(self.faults_injected().values())
        with self._lock:
            return Stats(**self._counts, faults_injected=faults)

    def register(self, message_id: str, script: Sequence[str] | None = None) -> tuple[str, ...]:
        """Make `message_id` known with `script` (default: by its prefix); returns the script.

        Registering an id again restarts its script.
        """
        if not message_id:
            raise ValueError("a message id must not be empty")
        chosen = tuple(script) if script is not None else script_for(message_id) or DEFAULT_SCRIPT
        if not chosen or any(status not in STATUSES for status in chosen):
            raise ValueError(f"a script is a non-empty list of statuses among {list(STATUSES)}")
        with self._lock:
            self._messages[message_id] = _Message(chosen)
        logger.info("message registered id=%s steps=%d", message_id, len(chosen))
        return chosen

    def expire_tokens(self) -> int:
        """Make every issued token expired; returns how many there were."""
        return self._tokens.expire_all()

    def reset_limit(self) -> int:
        """Start the call counter again from 0; returns how many calls it had counted."""
        with self._lock:
            used, self._used = self._used, 0
        logger.info("call limit reset used=%d", used)
        return used

    # -- WSGI plumbing ---------------------------------------------------------

    def _wsgi(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        response = self._dispatch(Request(environ))
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, _ = _ROUTES.bind_to_environ(request.environ).match()
        except MethodNotAllowed:
            return method_not_allowed()
        except HTTPException:  # not found, or a redirect we do not offer
            return not_found("No resource at this path.")
        if endpoint in _PROTECTED_ENDPOINTS:
            client = self._tokens.authorize(request)
            if isinstance(client, Response):
                with self._lock:
                    self._counts["rejected_401"] += 1
                return client
        return self._handlers[endpoint](request)

    def _issue_token(self, request: Request) -> Response:
        with self._lock:
            self._counts["token_requests"] += 1
        return self._tokens.issue(request)

    # -- MMSDeliveryStatus -----------------------------------------------------

    def _status(self, request: Request) -> Response:
        fault = self._faults.draw()
        if (refusal := self._admit(request, fault)) is not None:
            return refusal
        status = self._poll(request.args.get("id", "").strip())
        if fault is Fault.TIMEOUT:
            # The poll happened (the script moved on); only the answer is late.
            self._stopping.wait(self._faults.plan.timeout_seconds)
        return json_response({"status": status})

    def _admit(self, request: Request, fault: Fault | None) -> Response | None:
        """Injected failures and the call limit, before the message is looked at."""
        if fault is not None:
            logger.info("fault injected fault=%s", fault)
        if fault is Fault.RESET:
            drop_connection(request.environ)
        if fault is Fault.HTTP_500:
            return internal_error()
        if fault is Fault.HTTP_503:
            return service_unavailable()
        if fault is Fault.HTTP_504:
            return GatewayTimeout().get_response()
        if fault is Fault.RATE_BURST or not self._take_call():
            with self._lock:
                self._counts["rejected_53"] += 1
            logger.info("status call refused code=53")
            return too_many_requests()
        return None

    def _take_call(self) -> bool:
        """Count one call against the limit; False when none is left."""
        with self._lock:
            self._roll_period()
            if self._limit is not None and self._used >= self._limit:
                return False
            self._used += 1
            self._counts["status_calls"] += 1
            return True

    def _roll_period(self) -> None:
        """Past the reset date the counter starts again; the caller holds the lock."""
        today = _today()
        if today > self._reset_date:
            self._used, self._reset_date = 0, _last_day_of_month(today)

    def _poll(self, message_id: str) -> str:
        if not message_id:
            return INVALID_REQUEST
        with self._lock:
            message = self._messages.get(message_id)
            if message is None and (script := script_for(message_id)) is not None:
                message = self._messages[message_id] = _Message(script)
            status = NOT_FOUND if message is None else message.poll()
        logger.info("status polled id=%s status=%s", message_id, status)
        return status

    def _show_limit(self, request: Request) -> Response:
        with self._lock:
            self._roll_period()
            self._counts["limit_calls"] += 1
            used, reset_date = self._used, self._reset_date
        available = "unlimited" if self._limit is None else str(max(self._limit - used, 0))
        # The seed's "Tue Jun 30 2026", as JavaScript's Date.toDateString() writes it.
        return json_response(
            {"available": available, "date": f"{reset_date:%a %b %d %Y}", "used": str(used)}
        )

    # -- control ---------------------------------------------------------------

    def _register_over_http(self, request: Request) -> Response:
        payload = request.get_json(silent=True)
        message_id = payload.get("id") if isinstance(payload, dict) else None
        script = payload.get("script") if isinstance(payload, dict) else None
        if not isinstance(message_id, str) or not (script is None or _is_str_list(script)):
            return json_response({"error": 'expected {"id": str, "script": [str, ...]}'}, 400)
        try:
            chosen = self.register(message_id, script)
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
        return json_response({"id": message_id, "script": list(chosen)}, 201)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM, then shut down cleanly."""
    parser = _cli.parser("Run the Orange Poland MMSDeliveryStatus simulator.", port=5200)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds")
    parser.add_argument("--limit", type=int, help="status calls allowed (default: unlimited)")

    return _cli.serve(parser, argv, OrangePlSimulator, log=logger, name="orange pl simulator")


if __name__ == "__main__":
    raise SystemExit(main())
