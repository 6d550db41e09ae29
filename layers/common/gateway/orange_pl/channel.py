"""The `orange-pl-mms` channel: an MMS already sent through Orange Poland's MMSONnet is only
registered, with Orange's id as its reference, and its first status poll scheduled."""

from gateway.core.model import utc_now
from gateway.core.send_request import OrangePlMmsRequest
from gateway.core.sending import Prepared
from gateway.orange_pl.poller import backoff

PROVIDER = "orange-pl"
ORANGE_PL_LANE = "orange-pl-mms"


class OrangePlChannel:
    def __init__(self, backoff_scale: float = 1.0) -> None:
        self._scale = backoff_scale

    def prepare(self, request: OrangePlMmsRequest) -> Prepared[str]:
        return Prepared(
            channel="orange-pl-mms",
            to=request.to or "",
            provider=PROVIDER,
            lane=ORANGE_PL_LANE,
            route=request.provider_message_id,
            fields={"next_poll_at": utc_now(after=backoff(0, self._scale))},
        )

    def send(self, prepared: Prepared[str], max_wait: float) -> str:
        return prepared.route  # nothing to send: Orange's id is the reference
