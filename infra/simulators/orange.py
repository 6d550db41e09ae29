"""Orange SMS API simulator: a loopback stand-in for https://api.orange.com.

It serves what Orange's SMS API pages describe (shared/seeds/orange-sms-api-mea.txt
and orange-sms-api-mali.txt), errors included, for the docker-free local stack and
the integration tests:

    POST   /oauth/v3/token                                      client credentials
    POST   /smsmessaging/v1/outbound/{sender}/requests          send an SMS
    POST   /smsmessaging/v1/outbound/{sender}/subscriptions     register the receipt URL
    GET    /smsmessaging/v1/outbound/subscriptions/{id}         show it
    DELETE /smsmessaging/v1/outbound/{sender}/subscriptions/{id}  remove it
    GET    /sms/admin/v1/contracts | statistics | purchaseorders  (?country=, ?appid=)

and, without authentication, control endpoints for tests:

    POST /_sim/faults          JSON FaultPlan: http_500, http_503, http_504, http_502, timeout,
                               reset, rate_burst, early_receipts odds
    POST /_sim/expire-tokens   every issued token expires now
    GET  /_sim/stats           counters (see `Stats`)
    GET  /_sim/sends           every accepted send
    GET  /_sim/subscriptions   every receipt subscription (see `SubscriptionRecord`)

With a `network` (a `NetworkDelay`, e.g. `NetworkDelay.realistic()`; `set_network` changes
it), every request but the control endpoints is delayed on its way in and again on its way
out, so a send is counted in the rate window when it arrives, as at Orange;
`network_stats()` tells the delays applied.

Delivery receipts are POSTed to the sending account's notify URL `receipt_delay` seconds
after a send, one per status, in order, `RECEIPT_GAP_SECONDS` apart. The recipient's last
two digits choose the outcome (`RECEIPT_OUTCOMES`):

    99     DeliveryImpossible
    98     DeliveryUncertain
    97     MessageWaiting, then DeliveredToTerminal
    96     no receipt at all
    other  DeliveredToNetwork, then DeliveredToTerminal

Assumptions where the seeds are silent:

- A send with no usable contract is refused 403 requestError/policyException POL0001
  with variables ["Expired contract"] or ["Insufficient balance"] (a country without a
  contract has no balance). On-net sends debit the same per-country contract; the
  statistics split usage by service (SMS_OCB, SMS_OCB2); nbEnforcements equals usage.
- A missing bearer token and an unknown one both get code 41. Unknown paths get 404
  code 60, wrong methods 405 code 61, injected 500s code 1 and 503s code 5 ("Service
  temporarily unavailable"), both before the send. An injected 504 comes after the send was
  done (receipts follow), without an Orange body, as from an API front whose upstream timed out.
  An injected 502 likewise, as from an API front whose upstream failed mid-answer. An injected
  `early_receipts` pushes the send's receipts before it answers (see `FaultPlan`).
- During an outage (`set_outage`) every call but the control endpoints, the token endpoint
  included, is answered 503 code 5, as in the seeds when a service is down; nothing is done.
- The 5 SMS/s cap applies to sends only, per account, over a sliding second; requests
  refused by it or by an injected fault do not use the window. An account billed per
  segment (`segment_billed`, `set_segment_billed`) has 5 segments a second instead, each
  send's segments counted by the simulator's own rule (`_segments`, never the gateway's); a
  send of more than 5 is taken only into an empty window.
- A body that is not JSON sent as application/json is an invalid
  `outboundSMSMessageRequest`. A send without senderName echoes the default sender name.
- Orange keeps one receipt URL per account ("you can only declare 1 endpoint ... whatever
  the country"): an account's latest subscription sets it, whatever the sender number in
  its path. Receipts go to the URL current for the sending account at send time; deleting
  the subscription that set it stops them, deleting an older one changes nothing. An
  account that never subscribed uses `notify_url`, the URL given through Orange's web
  form (the MEA page's route), if any. notifyURL may be plain http (loopback).
- A subscription is the account's own: another account's token gets 404 for it, and so
  does a DELETE whose path names another sender number than the subscription's.
- The subscribe answer echoes an https notifyURL with its port (":443"), as the seed's
  example does; the GET answer shows it as registered.
- Faults apply to sends only.
"""

import json
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypedDict
from urllib.parse import urlsplit, urlunsplit

from werkzeug.exceptions import BadGateway, GatewayTimeout, HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from infra.simulators import _cli
from infra.simulators._faults import Fault, FaultPlan
from infra.simulators._http import drop_connection, json_response, mask_number
from infra.simulators._network import NetworkDelay, NetworkStats
from infra.simulators._oauth import TokenIssuer
from infra.simulators._orange_admin import (
    INSUFFICIENT_BALANCE,
    OFFER,
    Contract,
    mali_contracts,
    mea_contracts,
    purchase_orders,
    statistics,
)
from infra.simulators._orange_wire import (
    COUNTRIES_BY_ISO3,
    ON_NET_OFFER,
    InvalidInput,
    OutboundSms,
    delivery_notification,
    internal_error,
    invalid_input,
    message_text,
    method_not_allowed,
    not_found,
    parse_on_net,
    parse_outbound,
    parse_subscription,
    parse_tel,
    policy_error,
    sent_body,
    service_unavailable,
    subscription_body,
    too_many_requests,
)
from infra.simulators._push import Push, Pusher, PushResult
from infra.simulators._ratelimit import SlidingWindowLimiter
from infra.simulators._segments import count_segments
from infra.simulators._simulator import SimulatorBase, zero_counts

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_OUTCOME",
    "RECEIPT_OUTCOMES",
    "FaultPlan",
    "NetworkDelay",
    "NetworkStats",
    "OrangeSimulator",
    "PushResult",
    "SendRecord",
    "Stats",
    "SubscriptionRecord",
    "receipt_statuses",
]

logger = logging.getLogger(__name__)

DEFAULT_CLIENT_ID: Final = "local-client"
DEFAULT_CLIENT_SECRET: Final = "local-secret"  # noqa: S105 - a loopback-only test credential
DEFAULT_SENDER_NAMES: Final = ("MonService", "SMS 123456")
DEFAULT_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {"CIV": 1000, "SEN": 1000, "MLI": 1000, "CMR": 1000}
)
CONTRACT_LIFETIME: Final = timedelta(days=30)

RECEIPT_OUTCOMES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "99": ("DeliveryImpossible",),
        "98": ("DeliveryUncertain",),
        "97": ("MessageWaiting", "DeliveredToTerminal"),
        "96": (),
    }
)
"""Receipt statuses by the recipient's last two digits; others get DEFAULT_OUTCOME."""
DEFAULT_OUTCOME: Final = ("DeliveredToNetwork", "DeliveredToTerminal")
RECEIPT_GAP_SECONDS: Final = 0.05

_SENDER_NAME = re.compile(r"[A-Za-z0-9 ]{1,11}")  # the seeds' sender name rule


def receipt_statuses(recipient: str) -> tuple[str, ...]:
    """The receipt statuses a send to `recipient` produces, in order."""
    return RECEIPT_OUTCOMES.get(recipient[-2:], DEFAULT_OUTCOME)


@dataclass(frozen=True, slots=True)
class SendRecord:
    """An accepted send. Numbers are E.164 with '+'; `time` is epoch seconds."""

    time: float
    account: str
    sender: str
    recipient: str
    text: str
    sender_name: str | None
    on_net: bool
    resource_id: str
    country: str


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """A receipt subscription: `sender` is E.164 with '+'; `active` when it sets its account's
    receipt URL now."""

    subscription_id: str
    account: str
    sender: str
    notify_url: str
    active: bool


@dataclass(frozen=True, slots=True)
class _Subscription:
    account: str
    sender: str
    notify_url: str


class _Counts(TypedDict):
    """What the simulator counts as requests come, each declared here only."""

    token_requests: int
    sends: int
    duplicate_sends: int  # sends whose (recipient, text) had already been sent
    rejected_53: int
    rejected_401: int
    rejected_400: int
    rejected_policy: int


class Stats(_Counts):
    """Counters since start; receipts count pushes delivered and given up."""

    receipts_pushed: int
    receipts_failed: int


class _PolicyRefusal(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ApiRequest(Request):
    account = ""  # the bearer token's account, once checked


_ROUTES: Final = Map(
    [
        Rule("/oauth/v3/token", endpoint="token", methods=["POST"]),
        Rule("/smsmessaging/v1/outbound/<sender>/requests", endpoint="send", methods=["POST"]),
        Rule(
            "/smsmessaging/v1/outbound/<sender>/subscriptions",
            endpoint="subscribe",
            methods=["POST"],
        ),
        Rule(
            "/smsmessaging/v1/outbound/subscriptions/<subscription_id>",
            endpoint="show_subscription",
            methods=["GET"],
        ),
        Rule(
            "/smsmessaging/v1/outbound/<sender>/subscriptions/<subscription_id>",
            endpoint="unsubscribe",
            methods=["DELETE"],
        ),
        Rule("/sms/admin/v1/contracts", endpoint="contracts", methods=["GET"]),
        Rule("/sms/admin/v1/statistics", endpoint="statistics", methods=["GET"]),
        Rule("/sms/admin/v1/purchaseorders", endpoint="purchase_orders", methods=["GET"]),
        Rule("/_sim/faults", endpoint="sim_faults", methods=["POST"]),
        Rule("/_sim/expire-tokens", endpoint="sim_expire_tokens", methods=["POST"]),
        Rule("/_sim/stats", endpoint="sim_stats", methods=["GET"]),
        Rule("/_sim/sends", endpoint="sim_sends", methods=["GET"]),
        Rule("/_sim/subscriptions", endpoint="sim_subscriptions", methods=["GET"]),
    ]
)
# The faults injected once the send was done: the SMS went out whatever the answer says.
_AFTER_THE_SEND: Final = frozenset(
    {Fault.TIMEOUT, Fault.HTTP_504, Fault.HTTP_502, Fault.EARLY_RECEIPTS}
)
_OPEN_ENDPOINTS: Final = frozenset(
    {"token", "sim_faults", "sim_expire_tokens", "sim_stats", "sim_sends", "sim_subscriptions"}
)


class OrangeSimulator(SimulatorBase):
    """The Orange SMS API on loopback; every public method is thread-safe."""

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        rate_per_second: int = 5,
        token_lifetime: int = 3600,
        expires_in_as_number: bool = False,
        notify_url: str | None = None,
        receipt_delay: float = 0.3,
        duplicate_receipts: bool = False,
        allowed_sender_names: Collection[str] = DEFAULT_SENDER_NAMES,
        default_sender_name: str = "SMS 123456",
        contracts_shape: Literal["mea", "mali"] = "mea",
        initial_units: Mapping[str, int] = DEFAULT_UNITS,
        seed: int | None = None,
        network: NetworkDelay | None = None,
        segment_billed: Collection[str] = (),
    ) -> None:
        if any(not _SENDER_NAME.fullmatch(name) for name in allowed_sender_names):
            raise ValueError("sender names are 1-11 letters, digits or spaces")
        # Each client is an account with its own rate window: a token's account is its client id.
        self._tokens = TokenIssuer(
            {client_id: client_secret},
            lifetime=token_lifetime,
            expires_in_as_number=expires_in_as_number,
        )
        self._receipt_delay = receipt_delay
        self._duplicate_receipts = duplicate_receipts
        self._allowed_sender_names = frozenset(allowed_sender_names)
        self._default_sender_name = default_sender_name
        self._contracts_shape = contracts_shape

        self._pusher = Pusher()
        super().__init__(
            title="orange simulator", log=logger, seed=seed, pusher=self._pusher, network=network
        )
        self._limiter = SlidingWindowLimiter(rate_per_second)
        self._segment_billed = set(segment_billed)  # client ids whose rate counts segments
        self._counts = zero_counts(_Counts)
        self._sends: list[SendRecord] = []
        self._sent_texts: set[tuple[str, str]] = set()
        self._send_faults: dict[str, str] = {}  # resource id -> the fault that followed the send
        self._notify_url = notify_url  # the web form's URL, for accounts without a subscription
        self._subscriptions: dict[str, _Subscription] = {}
        # account -> the subscription that set its receipt URL (None: deleted, no URL)
        self._active_subscriptions: dict[str, str | None] = {}
        self._contracts: dict[str, Contract] = {}
        for iso3, units in initial_units.items():
            self.set_contract(iso3, units=units)
        self._handlers: Mapping[str, Callable[..., Response]] = {
            "token": self._issue_token,
            "send": self._send,
            "subscribe": self._subscribe,
            "show_subscription": self._show_subscription,
            "unsubscribe": self._unsubscribe,
            "contracts": self._list_contracts,
            "statistics": self._list_statistics,
            "purchase_orders": self._list_purchase_orders,
            "sim_faults": self._set_faults_over_http,
            "sim_expire_tokens": lambda request: json_response({"expired": self.expire_tokens()}),
            "sim_stats": lambda request: json_response(self.stats()),
            "sim_sends": lambda request: json_response([asdict(s) for s in self.sends()]),
            "sim_subscriptions": lambda request: json_response(
                [asdict(s) for s in self.subscriptions()]
            ),
        }

    # -- inspection and control ------------------------------------------------

    def stats(self) -> Stats:
        """The counters, also served at GET /_sim/stats."""
        results = self._pusher.results()
        with self._lock:
            return Stats(
                **self._counts,
                receipts_pushed=sum(result.delivered for result in results),
                receipts_failed=sum(not result.delivered for result in results),
            )

    def sends(self) -> list[SendRecord]:
        """Every accepted send, oldest first; also served at GET /_sim/sends."""
        with self._lock:
            return list(self._sends)

    def subscriptions(self) -> list[SubscriptionRecord]:
        """Every receipt subscription not deleted, oldest first; also at GET /_sim/subscriptions."""
        with self._lock:
            return [
                SubscriptionRecord(
                    subscription_id=subscription_id,
                    account=subscription.account,
                    sender=subscription.sender,
                    notify_url=subscription.notify_url,
                    active=self._active_subscriptions.get(subscription.account) == subscription_id,
                )
                for subscription_id, subscription in self._subscriptions.items()
            ]

    def send_faults(self) -> dict[str, str]:
        """The faults injected after a send was done (timeout, http_504, http_502,
        early_receipts), by the send's resource id."""
        with self._lock:
            return dict(self._send_faults)

    def set_outage(self, seconds: float) -> None:
        """Answer every call 503 code 5 for the next `seconds` (0 ends it); each call refused
        counts as an `outage` fault."""
        self._faults.start_outage(seconds)
        logger.info("outage set seconds=%s", seconds)

    def receipts(self) -> list[PushResult]:
        """Every receipt push that has finished (delivered or given up), oldest first."""
        return self._pusher.results()

    def wait_for_receipts(self, timeout: float) -> bool:
        """Wait until no receipt is pending or in flight; False on timeout."""
        return self._pusher.wait_idle(timeout)

    def expire_tokens(self) -> int:
        """Make every issued token expired; returns how many there were."""
        return self._tokens.expire_all()

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Another Orange account (developer app) with its own credentials and rate window."""
        self._tokens.add_client(client_id, client_secret)

    def set_segment_billed(self, client_id: str, billed: bool = True) -> None:
        """Whether the account's rate counts each send's segments (True) or each send."""
        with self._lock:
            if billed:
                self._segment_billed.add(client_id)
            else:
                self._segment_billed.discard(client_id)

    def set_notify_url(self, url: str | None) -> None:
        """Where receipts of later sends go for every account (None: nowhere), as Orange's web
        form sets it; it replaces the URLs subscriptions set."""
        with self._lock:
            self._notify_url = url
            self._active_subscriptions.clear()

    def set_contract(self, country: str, *, units: int, expires_at: datetime | None = None) -> None:
        """Set a country's balance and expiry (default 30 days ahead), opening it if new."""
        if country not in COUNTRIES_BY_ISO3:
            raise ValueError(f"no Orange SMS offer for country {country!r}")
        now = datetime.now(UTC)
        expiry = expires_at or now + CONTRACT_LIFETIME
        with self._lock:
            contract = self._contracts.get(country)
            if contract is None:
                self._contracts[country] = Contract.open(
                    COUNTRIES_BY_ISO3[country], units, expiry, now
                )
                return
            contract.available_units, contract.expires_at, contract.updated_at = units, expiry, now

    # -- WSGI plumbing ---------------------------------------------------------

    def _wsgi(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        response = self._dispatch(_ApiRequest(environ))
        return response(environ, start_response)

    def _dispatch(self, request: _ApiRequest) -> Response:
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except MethodNotAllowed:
            return method_not_allowed()
        except HTTPException:  # not found, or a redirect we do not offer
            return not_found("No resource at this path.")
        if not endpoint.startswith("sim_") and self._faults.refused_by_outage():
            return service_unavailable()
        if endpoint not in _OPEN_ENDPOINTS and (refusal := self._authorize(request)) is not None:
            return refusal
        return self._handlers[endpoint](request, **args)

    def _authorize(self, request: _ApiRequest) -> Response | None:
        """Check the bearer token; None when it is valid (its account is then set)."""
        account = self._tokens.authorize(request)
        if isinstance(account, Response):
            with self._lock:
                self._counts["rejected_401"] += 1
            return account
        request.account = account
        return None

    def _refuse_input(self, error: InvalidInput) -> Response:
        with self._lock:
            self._counts["rejected_400"] += 1
        logger.info("request refused code=SVC0002 field=%s", error.field)
        return invalid_input(error.field)

    # -- OAuth -----------------------------------------------------------------

    def _issue_token(self, request: _ApiRequest) -> Response:
        with self._lock:
            self._counts["token_requests"] += 1
        return self._tokens.issue(request)

    # -- sending ---------------------------------------------------------------

    def _send(self, request: _ApiRequest, sender: str) -> Response:
        fault = self._faults.draw()
        if (refusal := self._admit(request, fault)) is not None:
            return refusal
        try:
            sms = parse_outbound(request.get_json(silent=True), sender, self._allowed_sender_names)
            on_net = parse_on_net(request.args.get("resource_type_parameter_management"))
            record = self._accept(request.account, sms, on_net)
        except InvalidInput as error:
            return self._refuse_input(error)
        except _PolicyRefusal as refused:
            with self._lock:
                self._counts["rejected_policy"] += 1
            logger.info("send refused code=POL0001 reason=%s", refused.reason)
            return policy_error(refused.reason)
        if fault is not None and fault in _AFTER_THE_SEND:
            with self._lock:
                self._send_faults[record.resource_id] = fault.value
        if fault is Fault.EARLY_RECEIPTS:
            # Its receipts reach the gateway, and are stored there, before the answer does.
            logger.info("fault injected fault=early_receipts")
            for push in self._receipt_pushes(record):
                self._pusher.push_now(push)
            self._stopping.wait(self._faults.plan.early_receipts_lead_seconds)
        else:
            self._schedule_receipts(record)
        if fault is Fault.TIMEOUT:
            # The send happened; only the answer is late, as behind a stalled proxy.
            logger.info("fault injected fault=timeout")
            self._stopping.wait(self._faults.plan.timeout_seconds)
        if fault is Fault.HTTP_504:
            # The send happened; the API front in front of it stopped waiting for the answer.
            logger.info("fault injected fault=http_504")
            return GatewayTimeout().get_response()
        if fault is Fault.HTTP_502:
            # The send happened; the API front in front of it lost the answer.
            logger.info("fault injected fault=http_502")
            return BadGateway().get_response()
        resource_url = (
            f"{request.host_url}smsmessaging/v1/outbound/tel:{sms.sender}"
            f"/requests/{record.resource_id}"
        )
        body = sent_body(sms, sms.sender_name or self._default_sender_name, resource_url)
        return json_response(body, 201, {"Location": resource_url})

    def _admit(self, request: _ApiRequest, fault: Fault | None) -> Response | None:
        """Injected failures and the rate limit, before the body is validated (only an
        account billed per segment has its text read, for its segments)."""
        if fault is Fault.RESET:
            logger.info("fault injected fault=reset")
            drop_connection(request.environ)
        if fault is Fault.HTTP_500:
            logger.info("fault injected fault=http_500")
            return internal_error()
        if fault is Fault.HTTP_503:
            logger.info("fault injected fault=http_503")
            return service_unavailable()
        cost = self._cost(request)
        if fault is Fault.RATE_BURST or not self._limiter.try_acquire(request.account, cost):
            with self._lock:
                self._counts["rejected_53"] += 1
            logger.info("send refused code=53")
            return too_many_requests()
        return None

    def _cost(self, request: _ApiRequest) -> int:
        """What a send uses of its account's rate: 1, or its segments (as this simulator
        counts them) on an account billed per segment; 1 for a body without a text."""
        with self._lock:
            billed = request.account in self._segment_billed
        text = message_text(request.get_json(silent=True)) if billed else None
        return 1 if text is None else count_segments(text)

    def _accept(self, account: str, sms: OutboundSms, on_net: bool) -> SendRecord:
        """Debit the country's contract and record the send."""
        record = SendRecord(
            time=time.time(),
            account=account,
            sender=sms.sender,
            recipient=sms.recipient,
            text=sms.text,
            sender_name=sms.sender_name,
            on_net=on_net,
            resource_id=str(uuid.uuid4()),
            country=sms.country.iso3,
        )
        now = datetime.now(UTC)
        with self._lock:
            self._debit(sms.country.iso3, now)
            self._sends.append(record)
            self._counts["sends"] += 1
            if (sms.recipient, sms.text) in self._sent_texts:
                self._counts["duplicate_sends"] += 1
            self._sent_texts.add((sms.recipient, sms.text))
        logger.info(
            "send accepted to=%s country=%s on_net=%s resource_id=%s",
            mask_number(sms.recipient),
            record.country,
            on_net,
            record.resource_id,
        )
        return record

    def _debit(self, iso3: str, now: datetime) -> None:
        """Take one unit from the country's contract; the caller holds the lock."""
        contract = self._contracts.get(iso3)
        if contract is None:
            raise _PolicyRefusal(INSUFFICIENT_BALANCE)
        if (reason := contract.refusal(now)) is not None:
            raise _PolicyRefusal(reason)
        contract.debit(now)

    def _schedule_receipts(self, record: SendRecord) -> None:
        for index, push in enumerate(self._receipt_pushes(record)):
            self._pusher.schedule(push, self._receipt_delay + index * RECEIPT_GAP_SECONDS)

    def _receipt_pushes(self, record: SendRecord) -> list[Push]:
        """The send's receipts, in order, to its account's receipt URL (none without one)."""
        with self._lock:
            notify_url = self._receipt_url(record.account)
        if notify_url is None:
            return []
        copies = 2 if self._duplicate_receipts else 1
        statuses = [s for s in receipt_statuses(record.recipient) for _ in range(copies)]
        return [
            Push(
                notify_url,
                json.dumps(delivery_notification(record.resource_id, record.recipient, s)).encode(),
            )
            for s in statuses
        ]

    # -- receipt subscriptions -------------------------------------------------

    def _receipt_url(self, account: str) -> str | None:
        """The account's receipt URL; the caller holds the lock."""
        if account not in self._active_subscriptions:
            return self._notify_url
        subscription_id = self._active_subscriptions[account]
        return None if subscription_id is None else self._subscriptions[subscription_id].notify_url

    def _subscribe(self, request: _ApiRequest, sender: str) -> Response:
        try:
            number = parse_tel(sender, "senderAddress")
            notify_url = parse_subscription(request.get_json(silent=True))
        except InvalidInput as error:
            return self._refuse_input(error)
        subscription_id = str(uuid.uuid4())
        with self._lock:
            self._subscriptions[subscription_id] = _Subscription(
                request.account, number, notify_url
            )
            # Orange keeps one receipt URL per account: the latest registration wins.
            self._active_subscriptions[request.account] = subscription_id
        logger.info("receipt subscription created id=%s", subscription_id)
        body = subscription_body(
            _with_default_port(notify_url), _subscription_url(request, subscription_id)
        )
        return json_response(body, 201)

    def _show_subscription(self, request: _ApiRequest, subscription_id: str) -> Response:
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
        if subscription is None or subscription.account != request.account:
            return not_found("No delivery receipt subscription with this id.")
        return json_response(
            subscription_body(subscription.notify_url, _subscription_url(request, subscription_id))
        )

    def _unsubscribe(self, request: _ApiRequest, sender: str, subscription_id: str) -> Response:
        try:
            number = parse_tel(sender, "senderAddress")
        except InvalidInput as error:
            return self._refuse_input(error)
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
            found = subscription is not None and (subscription.account, subscription.sender) == (
                request.account,
                number,
            )
            if found:
                del self._subscriptions[subscription_id]
                if self._active_subscriptions.get(request.account) == subscription_id:
                    self._active_subscriptions[request.account] = None
        if not found:
            return not_found("No delivery receipt subscription with this id.")
        logger.info("receipt subscription deleted id=%s", subscription_id)
        return Response(status=204)

    # -- account administration ------------------------------------------------

    def _list_contracts(self, request: _ApiRequest) -> Response:
        now = datetime.now(UTC)
        with self._lock:  # contracts are mutable: render them under the lock
            contracts = self._contracts_in(request.args.get("country"))
            if self._contracts_shape == "mali":
                return json_response(mali_contracts(contracts))
            return json_response(mea_contracts(contracts, now))

    def _list_statistics(self, request: _ApiRequest) -> Response:
        country = request.args.get("country")
        with self._lock:
            usage = Counter(
                (ON_NET_OFFER if send.on_net else OFFER, send.country)
                for send in self._sends
                if country in (None, send.country)
            )
        return json_response(statistics(usage, request.args.get("appid")))

    def _list_purchase_orders(self, request: _ApiRequest) -> Response:
        with self._lock:
            return json_response(purchase_orders(self._contracts_in(request.args.get("country"))))

    def _contracts_in(self, country: str | None) -> list[Contract]:
        return [c for iso3, c in sorted(self._contracts.items()) if country in (None, iso3)]


def _subscription_url(request: Request, subscription_id: str) -> str:
    return f"{request.host_url}smsmessaging/v1/outbound/subscriptions/{subscription_id}"


def _with_default_port(url: str) -> str:
    """`https://host/path` -> `https://host:443/path`, as the seed's subscribe answer shows."""
    parts = urlsplit(url)
    try:
        has_port = parts.port is not None
    except ValueError:  # a port that is no number: echoed as given
        return url
    if parts.scheme != "https" or has_port or not parts.hostname:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:443"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM, then shut down cleanly."""
    parser = _cli.parser("Run the Orange SMS API simulator.", port=5100)
    parser.add_argument("--notify-url", help="where delivery receipts are POSTed")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--rate-per-second", type=int, default=5)
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds")
    parser.add_argument("--receipt-delay", type=float, default=0.3, help="seconds")
    parser.add_argument("--contracts-shape", choices=["mea", "mali"], default="mea")
    parser.add_argument(
        "--segment-billed",
        action="append",
        default=[],
        metavar="CLIENT_ID",
        help="an account whose rate counts segments, not sends (repeatable)",
    )

    return _cli.serve(parser, argv, OrangeSimulator, log=logger, name="orange simulator")


if __name__ == "__main__":
    raise SystemExit(main())
