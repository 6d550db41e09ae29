"""The `mms` channel: an MM7 SubmitReq to the configured MMSC, the text and attachments (from
S3 or inline) as its parts; the MMSC's MessageID is the reference its delivery reports carry."""

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import requests

from gateway.aws.attachments import TooLarge, fetch
from gateway.core.carrier_errors import Deadline, Rejected, before_the_call
from gateway.core.masking import mask_msisdn
from gateway.core.send_request import InvalidRequest, MmsRequest
from gateway.core.sending import Prepared
from gateway.mm7.submit import OutboundPart, SubmitSettings, build_submit
from gateway.mms.callbacks import PROVIDER
from gateway.mms.client import CONNECT_TIMEOUT, READ_TIMEOUT, Mm7Client
from gateway.observability import logger

MMS_LANE = "mms"  # the MMSC sets no rate: one lane for every MMS
# Bigger than any MMSC takes (300 to 600 KB is usual): what an MM's S3 content may weigh in
# all, read into the function's memory.
MAX_CONTENT_BYTES = 1_048_576
# The longest a submit may take, and an allowance for reading its content from S3.
CALL_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT
CONTENT_SECONDS = 5.0


class ContentTooLarge(Rejected):
    """The MM's content is over MAX_CONTENT_BYTES: no MMSC would take it."""


@dataclass(frozen=True, slots=True)
class _Part:
    """A part ready but for its bytes when they live in S3 (read at send time)."""

    part: OutboundPart
    s3_uri: str | None = None

    def load(self, max_bytes: int) -> OutboundPart:
        if self.s3_uri is None:
            return self.part
        try:
            data = fetch(self.s3_uri, max_bytes)
        except TooLarge as exc:
            raise ContentTooLarge(f"attachment too large: {exc}") from exc
        return OutboundPart(self.part.content_type, data, self.part.charset)


@dataclass(frozen=True, slots=True)
class Submission:
    """The request and its parts, checked, the S3 ones still to read."""

    request: MmsRequest
    parts: list[_Part]


class Mm7Channel:
    def __init__(
        self,
        *,
        settings: SubmitSettings,
        credentials: Callable[[], tuple[str, str]],  # read per send: a cached secret
        mmsc_url: str,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._credentials = credentials
        self._mmsc_url = mmsc_url
        self._session = session or requests.Session()  # kept: connections are reused

    def prepare(self, request: MmsRequest) -> Prepared[Submission]:
        """Checked now, so that a request the MMSC could never take fails at once."""
        try:
            parts = [_Part(OutboundPart.text(request.text))] if request.text else []
            for attachment in request.attachments:
                if attachment.s3_uri is not None:
                    # Empty bytes stand in for S3's until the send; the type is checked now.
                    parts.append(
                        _Part(OutboundPart(attachment.content_type, b""), attachment.s3_uri)
                    )
                else:
                    data = base64.b64decode(attachment.base64_data or "")
                    parts.append(_Part(OutboundPart(attachment.content_type, data)))
        except ValueError as exc:
            raise InvalidRequest(f"attachments: {exc}") from exc
        return Prepared(
            channel="mms",
            to=request.to,
            provider=PROVIDER,
            lane=MMS_LANE,
            route=Submission(request, parts),
        )

    def send(self, prepared: Prepared[Submission], max_wait: float) -> str:
        """The MMSC's message id; OutOfTime when the content's reading and the submit's
        longest time do not fit in `max_wait`."""
        deadline = Deadline(max_wait, self._clock)
        deadline.require(CONTENT_SECONDS + CALL_SECONDS, "reading the content and an MM7 call")
        request, parts = prepared.route.request, prepared.route.parts
        content_type, body = before_the_call(partial(self._submit_request, request, parts))
        deadline.require(CALL_SECONDS, "an MM7 call")
        username, password = before_the_call(self._credentials)
        client = Mm7Client(self._mmsc_url, username, password, session=self._session)
        result = client.submit(content_type, body)
        logger.info("mms submitted", to=mask_msisdn(request.to), size=len(body))
        # An accepted result always has one (the parser refuses an acceptance without it).
        return result.message_id or ""

    def _submit_request(self, request: MmsRequest, parts: list[_Part]) -> tuple[str, bytes]:
        return build_submit(
            self._settings,
            transaction_id=uuid.uuid4().hex,
            recipient=request.to,
            subject=request.subject,
            parts=_loaded(parts),
        )


def _loaded(parts: list[_Part]) -> list[OutboundPart]:
    """The parts with their S3 content read, MAX_CONTENT_BYTES in all."""
    loaded: list[OutboundPart] = []
    left = MAX_CONTENT_BYTES - sum(len(p.part.data) for p in parts)
    for part in parts:
        loaded.append(part.load(max(0, left)))
        if part.s3_uri is not None:
            left -= len(loaded[-1].data)
    return loaded
