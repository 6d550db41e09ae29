"""What an MMSC posts to `POST /callbacks/mm7`, applied: delivery reports and read replies
move the MMS the gateway sent, DeliverReq stores a mobile-originated MMS. Every request gets
a SOAP answer: the operation's response with 1000, or a fault the MMSC can act on.

HTTP status: a fault goes back with 500, as SOAP 1.1 requires. The seeds' MMSC retries on
any answer but 200 with 1000, which is what a storage failure (3000) wants; a request that
is not well-formed (4004), an unsupported operation (4003), content over the limits (2004)
or a field over what the gateway stores (2002, 2005, 4004: `gateway.mm7.parsing`) is refused
the same way, so that a peer that treats faults by the spec sees one. What could never be
stored is refused so, never answered 3000.
"""

from gateway.aws.clients import AWS_FAILURES
from gateway.aws.events import EventNotPublished
from gateway.core.model import utc_now
from gateway.core.tracking import ConcurrentUpdates, StatusTracker
from gateway.mm7 import (
    DeliverRequest,
    DeliveryReportRequest,
    Mm7Error,
    ReadReplyRequest,
    Reply,
    Request,
    StatusCode,
    delivery_report_update,
    fault,
    parse_request,
    read_reply_update,
    reply,
)
from gateway.mms.inbound import InboundMessages
from gateway.observability import logger, metrics

PROVIDER = "mm7"
# Failures of the gateway's own storage: the MMSC should retry, and will.
TEMPORARY = (*AWS_FAILURES, EventNotPublished, ConcurrentUpdates)


class Mm7Callbacks:
    def __init__(self, tracker: StatusTracker, inbound: InboundMessages) -> None:
        self._tracker = tracker
        self._inbound = inbound

    def handle(self, content_type: str | None, body: bytes) -> Reply:
        try:
            request = parse_request(content_type, body)
        except Mm7Error as error:
            metrics.add_metric(name="Mm7Refused", unit="Count", value=1)
            logger.warning(
                "mm7 request refused", status_code=int(error.status_code), reason=error.text
            )
            return fault(error)
        try:
            self._apply(request)
        except TEMPORARY as exc:
            logger.error(
                "mm7 request not stored", operation=request.OPERATION, error=type(exc).__name__
            )
            metrics.add_metric(name="Mm7ServerErrors", unit="Count", value=1)
            return fault(
                Mm7Error(StatusCode.SERVER_ERROR, "temporary failure, retry", request.header)
            )
        return reply(request)

    def _apply(self, request: Request) -> None:
        at = utc_now()
        match request:
            case DeliveryReportRequest():
                update = delivery_report_update(request, at)
                outcome = self._tracker.apply_receipt(PROVIDER, request.message_id, update)
                logger.info("mm7 delivery report", mm_status=request.mm_status, outcome=outcome)
            case ReadReplyRequest():
                read = read_reply_update(request, at)
                if read is not None:
                    self._tracker.apply_receipt(PROVIDER, request.message_id, read)
                logger.info("mm7 read reply", mm_status=request.mm_status)
            case DeliverRequest():
                self._inbound.receive(request, received_at=at)
