"""MM7 (3GPP TS 23.140) codec, pure code (no AWS, no HTTP): what an MMSC posts to
`POST /callbacks/mm7` and what the gateway answers, and the SubmitReq the gateway sends.

    try:
        request = parse_request(content_type, body)
    except Mm7Error as error:
        answer = fault(error)
    else:
        ...  # apply or store the request; a failure here: fault(Mm7Error(SERVER_ERROR, ...))
        answer = reply(request)
    # answer.body, answer.content_type ("text/xml; charset=utf-8"), answer.http_status
    # (200, or 500 for a fault, as SOAP 1.1 wants)
"""

from gateway.mm7.errors import Mm7Error, StatusCode
from gateway.mm7.mime import MAX_BODY_BYTES, MAX_DEPTH, MAX_PARTS
from gateway.mm7.model import (
    Address,
    AddressKind,
    ContentPart,
    DeliverRequest,
    DeliveryReportRequest,
    HiddenSender,
    ReadReplyRequest,
    Recipients,
    Request,
    RequestHeader,
)
from gateway.mm7.parsing import parse_request
from gateway.mm7.replies import Reply, fault, reply
from gateway.mm7.statuses import (
    delivery_report_update,
    delivery_status,
    read_reply_update,
    read_status,
)
from gateway.mm7.submit import (
    MalformedResponse,
    OutboundPart,
    Outcome,
    SubmitResult,
    SubmitSettings,
    build_submit,
    classify,
    parse_submit_response,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MAX_PARTS",
    "Address",
    "AddressKind",
    "ContentPart",
    "DeliverRequest",
    "DeliveryReportRequest",
    "HiddenSender",
    "MalformedResponse",
    "Mm7Error",
    "OutboundPart",
    "Outcome",
    "ReadReplyRequest",
    "Recipients",
    "Reply",
    "Request",
    "RequestHeader",
    "StatusCode",
    "SubmitResult",
    "SubmitSettings",
    "build_submit",
    "classify",
    "delivery_report_update",
    "delivery_status",
    "fault",
    "parse_request",
    "parse_submit_response",
    "read_reply_update",
    "read_status",
    "reply",
]
