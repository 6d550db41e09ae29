"""The Orange SMS channel: the sender number and account for the recipient's country, a rate
slot and a token for that account, then the seeds' outbound SMS request."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from gateway.aws.ratelimit import SlotRateLimiter
from gateway.carrier_http import CONNECT_TIMEOUT, READ_TIMEOUT
from gateway.core.carrier_errors import AccountBlocked, Deadline, Unavailable, before_the_call
from gateway.core.masking import mask_msisdn
from gateway.core.pacing import ArrivalPacer
from gateway.core.segments import count_segments
from gateway.core.send_request import SmsRequest
from gateway.core.sending import Prepared
from gateway.observability import logger, metrics
from gateway.orange.client import OrangeClient, OutboundSms, RateLimited, TokenRejected
from gateway.orange.config import OrangeAccount, OrangeConfig
from gateway.orange.countries import orange_country
from gateway.orange.holds import AccountHolds
from gateway.orange.receipts import PROVIDER
from gateway.orange.tokens import LOCK_WAIT_SECONDS, TokenStore

# The longest an Orange call may take, and a token renewal (the lock, then a call).
CALL_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT
RENEWAL_SECONDS = LOCK_WAIT_SECONDS + CALL_SECONDS


def orange_lane(account: str) -> str:
    """An Orange account's lane: its messages wait for its rate, and no one else's."""
    return f"orange-sms:{account}"


@dataclass(frozen=True, slots=True)
class Route:
    sms: OutboundSms
    account: OrangeAccount
    country: str  # ISO3, as the balance snapshots name it
    segments: int


class OrangeSmsChannel:
    def __init__(
        self,
        *,
        client: OrangeClient,
        tokens: Callable[[str], TokenStore],
        limiters: Callable[[str], SlotRateLimiter],
        pacers: Callable[[str], ArrivalPacer],
        holds: AccountHolds,
        config: OrangeConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._client = client
        self._tokens = tokens
        self._limiters = limiters
        self._pacers = pacers
        self._holds = holds
        self._config = config

    def prepare(self, request: SmsRequest) -> Prepared[Route]:
        country = orange_country(request.to)
        account = self._config.account_for(country)
        sms = OutboundSms(
            sender_number=self._config.sender_number(country),
            recipient=request.to,
            text=request.text,
            sender_name=request.sender_name,
            on_net=request.on_net,
        )
        route = Route(sms, account, country.iso3, count_segments(request.text))
        return Prepared(
            channel="sms",
            to=request.to,
            provider=PROVIDER,
            lane=orange_lane(account.name),
            route=route,
            fields={
                "account": account.name,
                "country": country.iso3,
                "sender_name": request.sender_name,
                "on_net": request.on_net,
                "segments": route.segments,
            },
        )

    def send(self, prepared: Prepared[Route], max_wait: float) -> str:
        """Orange's resource id. A refused token is renewed once; a 403 code 53 waits. Every
        wait and call fits in `max_wait` in all (OutOfTime when the next would not)."""
        deadline = Deadline(max_wait, self._clock)
        route = prepared.route
        held = before_the_call(
            partial(self._holds.reason, route.account.name, route.country, on_net=route.sms.on_net)
        )
        if held:
            raise AccountBlocked(held)
        tokens = self._tokens(route.account.name)
        limiter = self._limiters(route.account.name)
        pacer = self._pacers(route.account.name)
        cost = route.account.cost(route.segments)
        token = before_the_call(tokens.current)
        renewed = False
        while True:
            slot_wait = deadline.require(CALL_SECONDS, "an Orange call")
            before_the_call(partial(limiter.acquire, max_wait=slot_wait, cost=cost))
            pace_wait = deadline.require(CALL_SECONDS, "an Orange call")
            try:
                with pacer.sending(cost, pace_wait, refused=RateLimited):
                    resource_id = self._client.send_sms(token.value, route.sms)
            except TokenRejected as exc:
                if renewed:
                    raise Unavailable(f"token refused twice: {exc}") from exc
                deadline.require(RENEWAL_SECONDS + CALL_SECONDS, "a token renewal and a call")
                token = before_the_call(partial(tokens.refresh, stale=token.value))
                renewed = True
            except RateLimited:
                # A trip slower than the pacer allowed for, or another client on the account:
                # the next slot spaces us out.
                metrics.add_metric(name="CarrierThrottled", unit="Count", value=1)
            else:
                logger.info(
                    "sms sent",
                    to=mask_msisdn(route.sms.recipient),
                    account=route.account.name,
                    segments=route.segments,
                )
                return resource_id
