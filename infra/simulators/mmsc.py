"""MM7 MMSC simulator: a loopback stand-in for an MMSC or aggregator (3GPP TS 23.140,
REL-6-MM7-1-4, MM7 version 6.8.0 by default; shared/seeds/mm7-*.txt).

    POST <any path outside /_sim/>   SubmitReq (HTTP Basic) -> SubmitRsp, or a SOAP Fault

The VASP (the gateway) submits with HTTP Basic credentials; wrong ones get 401 with a Basic
challenge. A SubmitReq is SOAP with attachments (multipart/related: the SOAP part, then the
content, e.g. a multipart/mixed) or bare text/xml without content. It must carry a
TransactionID in the SOAP header, MM7Version, SenderIdentification with VASPID and VASID, at
least one recipient (To, Cc or Bcc: Number, ShortCode or RFC2822Address) and, if it has a
Content element, a `cid:` href naming a part it sent. The answer is a SubmitRsp in the
request's namespace echoing its TransactionID and MM7Version, with StatusCode 1000 and a new
MessageID; a malformed request gets a SOAP Fault (HTTP 500) with an RSErrorRsp of 4004, another
operation 4003, content over the MMSC's size limit 2004.

Then each recipient's delivery reports (DeliveryReportReq, the seed's elements) are POSTed to
the VASP callback URL with the callback credentials, `report_delay` seconds after the submit,
`REPORT_GAP_SECONDS` apart, in order. The recipient's last two digits choose the outcome
(`REPORT_OUTCOMES`):

    99     Rejected (not accepted by the network; the reason in StatusText)
    98     Forwarded, then Expired
    97     Forwarded, then Rejected (by the handset; the reason in StatusText)
    96     no report at all
    95     Forwarded, then Indeterminate
    other  Forwarded, then Retrieved

A report counts as delivered when the VASP answers HTTP 200 with a DeliveryReportRsp of
StatusCode 1000; anything else is retried with backoff (the seed: "Any other status code
other than 1000 will trigger a retry"), then given up.

`push_deliver(...)` (or POST /_sim/deliver) sends the VASP a mobile-originated MM, a DeliverReq
in the deliver seed's shape (multipart/related, start="<soap-start>", the content a
multipart/mixed: by default a small GIF and a text part), and returns the VASP's answer.

With a `network` (a `NetworkDelay`, e.g. `NetworkDelay.realistic()`; `set_network` changes
it), every request but the control endpoints is delayed on its way in and again on its way
out; `network_stats()` tells the delays applied. The simulator's own posts (reports,
DeliverReqs) are not delayed.

Control endpoints for tests, without authentication:

    POST /_sim/deliver   {"sender", "recipient"?, "subject"?, "parts"?: [{"content_type",
                         "text" or "base64", "content_id"?}]} -> the DeliverRecord
    POST /_sim/faults    JSON FaultPlan: http_500, http_503, http_504, timeout, reset,
                         rate_burst odds
    GET  /_sim/stats     counters (see `Stats`)
    GET  /_sim/submits   every accepted submit, part bodies in base64
    GET  /_sim/reports   every finished report push

Assumptions where the seeds are silent:

- Reports go for every recipient, To, Cc and Bcc, unless the SubmitReq says
  `<DeliveryReport>false</DeliveryReport>`. A report's Recipient is the submit's address
  (a Number without its '+', as the seed asks), its Sender the submit's SenderAddress, else
  the simulator's short code; its Date is the submit's time. A Retrieved report carries
  UACapabilities, as in the seed.
- Injected faults apply to submits: http_500 answers a SOAP Fault 3000 (HTTP 500), rate_burst a
  Fault 4006 "Service unavailable", http_503 a bare HTTP 503, reset drops the connection,
  timeout accepts the submit (reports follow) and holds the answer, http_504 accepts it and
  answers a bare HTTP 504, as a proxy in front of the MMSC that stopped waiting.
- A DeliverReq is posted once, synchronously: the caller sees the VASP's answer and decides
  whether to send again.
"""

import base64
import binascii
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, TypedDict

import requests
from werkzeug.exceptions import GatewayTimeout, HTTPException, ServiceUnavailable
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from infra.simulators import _cli
from infra.simulators._faults import Fault, FaultPlan
from infra.simulators._http import drop_connection, json_response, mask_number
from infra.simulators._mm7_types import (
    DEFAULT_NAMESPACE,
    DEFAULT_VERSION,
    Address,
    AddressKind,
    ContentPart,
    Mm7Fault,
    RequestHeader,
    StatusCode,
)
from infra.simulators._mm7_wire import (
    XML_CONTENT_TYPE,
    Answer,
    DeliveryReport,
    MoMessage,
    SubmitRequest,
    deliver_request,
    delivery_report_request,
    fault,
    parse_submit,
    read_answer,
    related,
    submit_response,
)
from infra.simulators._network import NetworkDelay, NetworkStats
from infra.simulators._push import Push, Pusher, http_200, post
from infra.simulators._simulator import SimulatorBase, zero_counts

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "DEFAULT_CALLBACK_PASSWORD",
    "DEFAULT_CALLBACK_USERNAME",
    "DEFAULT_OUTCOME",
    "DEFAULT_PARTS",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "REPORT_OUTCOMES",
    "ContentPart",
    "DeliverRecord",
    "FaultPlan",
    "Framing",
    "MmscSimulator",
    "NetworkDelay",
    "NetworkStats",
    "ReportRecord",
    "ReportStep",
    "Stats",
    "SubmitRecord",
    "report_steps",
]

logger = logging.getLogger(__name__)

DEFAULT_USERNAME: Final = "local-vasp"
DEFAULT_PASSWORD: Final = "local-vasp-secret"  # noqa: S105 - a loopback-only test credential
DEFAULT_CALLBACK_USERNAME: Final = "local-mmsc"
DEFAULT_CALLBACK_PASSWORD: Final = "local-mmsc-secret"  # noqa: S105 - loopback-only, as above
DEFAULT_SHORT_CODE: Final = "222111"  # the deliver seed's
UA_PROF: Final = "Samsung Galaxy"  # the seeds'
REPORT_GAP_SECONDS: Final = 0.05
POST_TIMEOUT: Final = 2.0
_FIRST_TRANSACTION: Final = 10000001  # the delivery report seed's first TransactionID

Framing = Literal["multipart", "xml", "seed"]
"""How delivery reports are framed: multipart/related with one SOAP part; bare text/xml; or,
as the seed's full example, a multipart/related Content-Type over a bare XML body."""


class ReportStep(NamedTuple):
    mm_status: str
    status_text: str


_FORWARDED: Final = ReportStep("Forwarded", "Accepted for delivery by the network")
REPORT_OUTCOMES: Final[Mapping[str, tuple[ReportStep, ...]]] = MappingProxyType(
    {
        "99": (ReportStep("Rejected", "Rejected by the network: unknown subscriber"),),
        "98": (_FORWARDED, ReportStep("Expired", "Not retrieved within the validity period")),
        "97": (_FORWARDED, ReportStep("Rejected", "Rejected by the handset: content refused")),
        "96": (),
        "95": (_FORWARDED, ReportStep("Indeterminate", "Delivery cannot be determined")),
    }
)
"""Delivery reports by the recipient's last two digits; others get DEFAULT_OUTCOME."""
DEFAULT_OUTCOME: Final = (_FORWARDED, ReportStep("Retrieved", "Success"))

# A 1x1 GIF: binary content that is not valid UTF-8, as MO pictures are.
_GIF: Final = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
DEFAULT_PARTS: Final = (
    ContentPart("image/gif", _GIF, content_id="image_0.gif"),
    ContentPart("text/plain", b"Test MO message!", content_id="text_0.txt"),
)
"""What an MO MM holds unless told otherwise: the deliver seed's picture and text."""


def report_steps(recipient: str) -> tuple[ReportStep, ...]:
    """The delivery reports a submit to `recipient` produces, in order."""
    return REPORT_OUTCOMES.get(recipient[-2:], DEFAULT_OUTCOME)


@dataclass(frozen=True, slots=True)
class SubmitRecord:
    """An accepted submit; addresses as sent; `time` is epoch seconds."""

    time: float
    message_id: str
    transaction_id: str
    vasp_id: str
    vas_id: str
    sender: str | None
    recipients: tuple[str, ...]
    subject: str | None
    parts: tuple[ContentPart, ...]


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A finished delivery report push; `http_status` is the last answer's (None if none)."""

    message_id: str
    recipient: str
    mm_status: str
    delivered: bool
    attempts: int
    http_status: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class DeliverRecord:
    """A DeliverReq posted, and the VASP's answer; `error` is None when it was accepted."""

    time: float
    transaction_id: str
    sender: str
    recipient: str
    subject: str | None
    http_status: int | None
    status_code: int | None
    error: str | None


class _Counts(TypedDict):
    """What the simulator counts as requests come, each declared here only."""

    submits: int
    rejected_401: int
    rejected_invalid: int  # answered with a SOAP Fault: 2004, 4003, 4004


class Stats(_Counts):
    """Counters since start; faults are the injector's (`faults_injected()`, summed); reports
    and delivers count pushes delivered and given up."""

    faults_injected: int
    reports_pushed: int
    reports_failed: int
    delivers_pushed: int
    delivers_failed: int


@dataclass(frozen=True, slots=True)
class _Callback:
    url: str
    auth: tuple[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One POST of an MM7 request: the HTTP status, the MM7 StatusCode, what went wrong."""

    http_status: int | None
    status_code: int | None
    error: str | None  # None: answered 200 with the expected Rsp and StatusCode 1000


def _exchange(push: Push, *, transaction_id: str, expected: str) -> _Exchange:
    """POST an MM7 request to the VASP and judge its answer (see `_judge`)."""
    try:
        response = post(push, POST_TIMEOUT)
    except requests.RequestException as exc:
        return _Exchange(None, None, type(exc).__name__)
    status_code, error = _judge(response, transaction_id, expected)
    return _Exchange(response.status_code, status_code, error)


def _judge(
    response: requests.Response, transaction_id: str, expected: str
) -> tuple[int | None, str | None]:
    """The answer's MM7 StatusCode, and what is wrong with it: None when it is HTTP 200, the
    `expected` Rsp, StatusCode 1000 and, if the answer has one, the request's TransactionID (the
    seed: "You must return the same transaction that was passed in the request")."""
    status = response.status_code
    try:
        answer = read_answer(response.headers.get("Content-Type"), response.content)
    except Mm7Fault:
        return None, f"HTTP {status} without a SOAP answer"
    return answer.status_code, _problem(status, answer, transaction_id, expected)


def _problem(status: int, answer: Answer, transaction_id: str, expected: str) -> str | None:
    """What is wrong with an answer, None when it acknowledges the request."""
    if status != 200:
        return f"HTTP {status}"
    if answer.operation != expected:
        return f"answered {answer.operation[:50]}"
    if answer.transaction_id not in (None, transaction_id):
        return "answered another TransactionID"
    if answer.status_code != StatusCode.SUCCESS:
        return f"StatusCode {answer.status_code}"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ReportPush(Push):
    transaction_id: str
    report: DeliveryReport


def _report_acknowledged(push: Push, response: requests.Response) -> str | None:
    """A report counts as delivered only when the VASP acknowledges it with a
    DeliveryReportRsp of 1000."""
    if not isinstance(push, _ReportPush):
        return http_200(push, response)
    return _judge(response, push.transaction_id, "DeliveryReportRsp")[1]


_ROUTES: Final = Map(
    [
        Rule("/_sim/deliver", endpoint="sim_deliver", methods=["POST"]),
        Rule("/_sim/faults", endpoint="sim_faults", methods=["POST"]),
        Rule("/_sim/stats", endpoint="sim_stats", methods=["GET"]),
        Rule("/_sim/submits", endpoint="sim_submits", methods=["GET"]),
        Rule("/_sim/reports", endpoint="sim_reports", methods=["GET"]),
        Rule("/_sim/<path:rest>", endpoint="sim_unknown"),
        # The VASP may be configured with the base URL or any path under it (/mm7 is usual).
        Rule("/", endpoint="submit", methods=["POST"]),
        Rule("/<path:path>", endpoint="submit", methods=["POST"]),
    ]
)


class MmscSimulator(SimulatorBase):
    """An MM7 MMSC on loopback; every public method is thread-safe."""

    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        vasp_callback_url: str | None = None,
        callback_username: str = DEFAULT_CALLBACK_USERNAME,
        callback_password: str = DEFAULT_CALLBACK_PASSWORD,
        report_delay: float = 0.3,
        report_framing: Framing = "multipart",
        short_code: str = DEFAULT_SHORT_CODE,
        namespace: str = DEFAULT_NAMESPACE,
        mm7_version: str = DEFAULT_VERSION,
        seed: int | None = None,
        network: NetworkDelay | None = None,
    ) -> None:
        self._credentials = (username, password)
        self._report_delay = report_delay
        self._report_framing = report_framing
        self._short_code = short_code
        self._namespace = namespace
        self._version = mm7_version

        self._pusher = Pusher(judge=_report_acknowledged, timeout=POST_TIMEOUT)
        super().__init__(
            title="mmsc simulator", log=logger, seed=seed, pusher=self._pusher, network=network
        )
        self._counts = zero_counts(_Counts)
        self._transactions = _FIRST_TRANSACTION
        self._submits: list[SubmitRecord] = []
        self._delivers: list[DeliverRecord] = []
        self._callback: _Callback | None = None
        self.set_vasp_callback(
            vasp_callback_url, username=callback_username, password=callback_password
        )
        self._handlers: Mapping[str, Callable[[Request], Response]] = {
            "submit": self._submit,
            "sim_deliver": self._deliver_over_http,
            "sim_faults": self._set_faults_over_http,
            "sim_stats": lambda request: json_response(self.stats()),
            "sim_submits": lambda request: json_response([_submit_json(s) for s in self.submits()]),
            "sim_reports": lambda request: json_response([asdict(r) for r in self.reports()]),
            "sim_unknown": lambda request: json_response({"error": "no such control"}, 404),
        }

    # -- lifecycle -------------------------------------------------------------

    @property
    def mm7_url(self) -> str:
        """The conventional submit URL, `url` + /mm7 (any path outside /_sim/ works)."""
        return f"{self._server.url}/mm7"

    # -- inspection and control ------------------------------------------------

    def stats(self) -> Stats:
        """The counters, also served at GET /_sim/stats."""
        reports = self._pusher.results()
        faults = sum(self.faults_injected().values())
        with self._lock:
            delivered = sum(record.error is None for record in self._delivers)
            return Stats(
                **self._counts,
                faults_injected=faults,
                reports_pushed=sum(result.delivered for result in reports),
                reports_failed=sum(not result.delivered for result in reports),
                delivers_pushed=delivered,
                delivers_failed=len(self._delivers) - delivered,
            )

    def submits(self) -> list[SubmitRecord]:
        """Every accepted submit, oldest first; also served at GET /_sim/submits."""
        with self._lock:
            return list(self._submits)

    def reports(self) -> list[ReportRecord]:
        """Every report push that has finished (delivered or given up), in finishing order."""
        return [
            ReportRecord(
                message_id=push.report.message_id,
                recipient=push.report.recipient.value,
                mm_status=push.report.mm_status,
                delivered=result.delivered,
                attempts=result.attempts,
                http_status=result.status,
                error=result.error,
            )
            for result in self._pusher.results()
            if isinstance(push := result.push, _ReportPush)
        ]

    def delivers(self) -> list[DeliverRecord]:
        """Every DeliverReq posted, oldest first."""
        with self._lock:
            return list(self._delivers)

    def wait_for_reports(self, timeout: float) -> bool:
        """Wait until no report is pending or in flight; False on timeout."""
        return self._pusher.wait_idle(timeout)

    def set_vasp_callback(
        self,
        url: str | None,
        *,
        username: str = DEFAULT_CALLBACK_USERNAME,
        password: str = DEFAULT_CALLBACK_PASSWORD,
    ) -> None:
        """Where reports of later submits and MO MMs go (None: nowhere), with which credentials."""
        with self._lock:
            self._callback = None if url is None else _Callback(url, (username, password))

    def push_deliver(
        self,
        *,
        sender: str,
        recipient: str | None = None,
        subject: str | None = None,
        parts: Sequence[ContentPart] = DEFAULT_PARTS,
    ) -> DeliverRecord:
        """POST an MO MM (DeliverReq) from `sender` to `recipient` (default: the short code)
        and return the VASP's answer. RuntimeError when there is no VASP callback URL."""
        with self._lock:
            callback = self._callback
            if callback is None:
                raise RuntimeError("no VASP callback URL to deliver to")
            transaction_id = self._next_transaction()
        message = MoMessage(
            sender=sender.removeprefix("+"),
            recipient=(recipient or self._short_code).removeprefix("+"),
            subject=subject,
            parts=parts,
            timestamp=datetime.now(UTC),
            # The seed: from MM7 6.8 on, the handset's capabilities are in the body.
            ua_prof=UA_PROF,
        )
        content_type, body = deliver_request(
            message, namespace=self._namespace, version=self._version, transaction_id=transaction_id
        )
        push = Push(
            callback.url,
            body,
            content_type,
            headers={"SOAPAction": '""'},  # the deliver seed's: empty
            auth=callback.auth,
        )
        exchange = _exchange(push, transaction_id=transaction_id, expected="DeliverRsp")
        record = DeliverRecord(
            time=time.time(),
            transaction_id=transaction_id,
            sender=message.sender,
            recipient=message.recipient,
            subject=subject,
            http_status=exchange.http_status,
            status_code=exchange.status_code,
            error=exchange.error,
        )
        with self._lock:
            self._delivers.append(record)
        logger.info(
            "deliver pushed from=%s status_code=%s error=%s",
            mask_number(message.sender),
            exchange.status_code,
            exchange.error,
        )
        return record

    # -- WSGI plumbing ---------------------------------------------------------

    def _wsgi(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, _ = _ROUTES.bind_to_environ(environ).match()
        except HTTPException as error:  # unknown path or method, or a redirect we do not offer
            return error(environ, start_response)
        return self._handlers[endpoint](request)(environ, start_response)

    def _next_transaction(self) -> str:
        """A new TransactionID; the caller holds the lock."""
        transaction = self._transactions
        self._transactions += 1
        return str(transaction)

    # -- submit ----------------------------------------------------------------

    def _submit(self, request: Request) -> Response:
        if not self._authenticated(request):
            with self._lock:
                self._counts["rejected_401"] += 1
            logger.info("submit refused reason=authentication")
            return Response(status=401, headers={"WWW-Authenticate": 'Basic realm="mmsc"'})
        fault_drawn = self._faults.draw()
        if (injected := self._inject(request, fault_drawn)) is not None:
            return injected
        try:
            submit = parse_submit(request.headers.get("Content-Type"), request.get_data())
        except Mm7Fault as error:
            return self._refuse(error)
        message_id = self._accept(submit)
        if fault_drawn is Fault.HTTP_504:
            # The submit happened (reports follow); the proxy in front stopped waiting for it.
            return GatewayTimeout().get_response()
        if fault_drawn is Fault.TIMEOUT:
            # The submit happened (reports follow); only the answer is late.
            self._stopping.wait(self._faults.plan.timeout_seconds)
        return _soap_response(submit_response(submit.header, self._version, message_id))

    def _authenticated(self, request: Request) -> bool:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return False
        username, password = self._credentials
        # `&`, not `and`: both compared, so the time taken does not tell which was wrong.
        return secrets.compare_digest((auth.username or "").encode(), username.encode()) & (
            secrets.compare_digest((auth.password or "").encode(), password.encode())
        )

    def _inject(self, request: Request, drawn: Fault | None) -> Response | None:
        """The injected fault's answer instead of the submit's, if it replaces it."""
        if drawn is None:
            return None
        logger.info("fault injected fault=%s", drawn)
        if drawn is Fault.RESET:
            drop_connection(request.environ)
        if drawn is Fault.HTTP_503:
            return ServiceUnavailable().get_response()
        header = RequestHeader(self._namespace)
        if drawn is Fault.HTTP_500:
            code, phrase = StatusCode.SERVER_ERROR, StatusCode.SERVER_ERROR.phrase
            return _soap_response(fault(header, self._version, code, phrase, "injected fault"), 500)
        if drawn is Fault.RATE_BURST:
            body = fault(
                header,
                self._version,
                StatusCode.SERVICE_UNAVAILABLE,
                StatusCode.SERVICE_UNAVAILABLE.phrase,
                "throttled",
            )
            return _soap_response(body, 500)
        return None

    def _refuse(self, error: Mm7Fault) -> Response:
        with self._lock:
            self._counts["rejected_invalid"] += 1
        logger.info("submit refused status_code=%d", error.status_code)
        header = error.header or RequestHeader(self._namespace)
        code = error.status_code
        return _soap_response(fault(header, self._version, code, code.phrase, error.text), 500)

    def _accept(self, submit: SubmitRequest) -> str:
        """Record the submit and schedule its reports; returns the new MessageID."""
        message_id = uuid.uuid4().hex
        record = SubmitRecord(
            time=time.time(),
            message_id=message_id,
            transaction_id=submit.transaction_id,
            vasp_id=submit.vasp_id,
            vas_id=submit.vas_id,
            sender=None if submit.sender is None else submit.sender.value,
            recipients=tuple(recipient.value for recipient in submit.recipients),
            subject=submit.subject,
            parts=submit.parts,
        )
        with self._lock:
            self._submits.append(record)
            self._counts["submits"] += 1
            callback = self._callback
        logger.info(
            "submit accepted message_id=%s to=%s parts=%d",
            message_id,
            ",".join(mask_number(recipient) for recipient in record.recipients),
            len(record.parts),
        )
        if callback is not None and submit.delivery_report:
            self._schedule_reports(submit, message_id, callback)
        return message_id

    def _schedule_reports(
        self, submit: SubmitRequest, message_id: str, callback: _Callback
    ) -> None:
        sender = submit.sender or Address(self._short_code, AddressKind.SHORT_CODE)
        submitted_at = datetime.now(UTC)
        steps = [
            (recipient, step)
            for recipient in submit.recipients
            for step in report_steps(recipient.value)
        ]
        for index, (recipient, step) in enumerate(steps):
            report = DeliveryReport(
                message_id=message_id,
                recipient=Address(recipient.value.removeprefix("+"), recipient.kind),
                sender=sender,
                date=submitted_at,
                mm_status=step.mm_status,
                status_text=step.status_text,
                ua_prof=UA_PROF if step.mm_status == "Retrieved" else None,
            )
            with self._lock:
                transaction_id = self._next_transaction()
            soap = delivery_report_request(
                report,
                namespace=self._namespace,
                version=self._version,
                transaction_id=transaction_id,
            )
            content_type, body = self._frame(soap)
            push = _ReportPush(
                callback.url,
                body,
                content_type,
                # The delivery report seed's SOAPAction: the namespace, quoted.
                headers={"SOAPAction": f'"{self._namespace}"'},
                auth=callback.auth,
                transaction_id=transaction_id,
                report=report,
            )
            self._pusher.schedule(push, self._report_delay + index * REPORT_GAP_SECONDS)

    def _frame(self, soap: bytes) -> tuple[str, bytes]:
        """A report's Content-Type and body, as `report_framing` says."""
        if self._report_framing == "xml":
            return XML_CONTENT_TYPE, soap
        if self._report_framing == "seed":
            return 'multipart/related; type="text/xml"', soap
        return related(soap)

    # -- control ---------------------------------------------------------------

    def _deliver_over_http(self, request: Request) -> Response:
        try:
            arguments = _deliver_arguments(request.get_json(silent=True))
            record = self.push_deliver(**arguments)
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
        except RuntimeError as error:
            return json_response({"error": str(error)}, 409)
        return json_response(asdict(record))


def _soap_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, content_type=XML_CONTENT_TYPE)


def _submit_json(record: SubmitRecord) -> dict[str, Any]:
    """A submit as JSON: each part's bytes in base64."""
    return {
        **asdict(record),
        "parts": [
            {
                "content_type": part.content_type,
                "content_id": part.content_id,
                "size": len(part.data),
                "base64": base64.b64encode(part.data).decode("ascii"),
            }
            for part in record.parts
        ],
    }


_DELIVER_KEYS: Final = frozenset({"sender", "recipient", "subject", "parts"})


def _deliver_arguments(payload: object) -> dict[str, Any]:
    """`push_deliver`'s arguments from a /_sim/deliver body; ValueError when it is invalid."""
    if not isinstance(payload, dict) or not set(payload) <= _DELIVER_KEYS:
        raise ValueError(f"expected a JSON object with keys among {sorted(_DELIVER_KEYS)}")
    if not isinstance(payload.get("sender"), str):
        raise ValueError("sender must be a string")
    for key in ("recipient", "subject"):
        if not isinstance(payload.get(key), str | None):
            raise ValueError(f"{key} must be a string")
    arguments = dict(payload)
    if "parts" in payload:
        parts = payload["parts"]
        if not isinstance(parts, list):
            raise ValueError("parts must be a list")
        arguments["parts"] = [_part(part) for part in parts]
    return arguments


def _part(payload: object) -> ContentPart:
    """{"content_type", "text" or "base64", "content_id"?} as a content part."""
    if not isinstance(payload, dict) or not isinstance(payload.get("content_type"), str):
        raise ValueError("a part is an object with a content_type")
    content_id = payload.get("content_id")
    if not isinstance(content_id, str | None):
        raise ValueError("a part's content_id must be a string")
    text, encoded = payload.get("text"), payload.get("base64")
    if isinstance(text, str):
        return ContentPart(payload["content_type"], text.encode(), content_id, charset="utf-8")
    if not isinstance(encoded, str):
        raise ValueError("a part has a text or a base64 member")
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("a part's base64 is not valid") from exc
    return ContentPart(payload["content_type"], data, content_id)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM, then shut down cleanly."""
    parser = _cli.parser("Run the MM7 MMSC simulator.", port=5300)
    parser.add_argument(
        "--callback-url",
        dest="vasp_callback_url",
        metavar="CALLBACK_URL",
        help="the VASP's MM7 URL for reports and MO MMs",
    )
    parser.add_argument("--username", default=DEFAULT_USERNAME, help="what the VASP submits with")
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--callback-username", default=DEFAULT_CALLBACK_USERNAME)
    parser.add_argument("--callback-password", default=DEFAULT_CALLBACK_PASSWORD)
    parser.add_argument("--report-delay", type=float, default=0.3, help="seconds")
    parser.add_argument(
        "--report-framing", choices=["multipart", "xml", "seed"], default="multipart"
    )
    parser.add_argument("--short-code", default=DEFAULT_SHORT_CODE)

    return _cli.serve(parser, argv, MmscSimulator, log=logger, name="mmsc simulator")


if __name__ == "__main__":
    raise SystemExit(main())
