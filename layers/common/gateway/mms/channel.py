"""The `mms` channel: an MM7 SubmitReq to the configured MMSC, the text and attachments (from
S3 or inline) as its parts; the MMSC's MessageID is the reference its delivery reports carry."""

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import requests

from gateway.aws.attachments import fetch
from gateway.core.carrier_errors import before_the_call
from gateway.core.masking import mask_msisdn
from gateway.core.send_request import InvalidRequest, MmsRequest
from gateway.core.sending import Prepared
from gateway.mm7.submit import OutboundPart, SubmitSettings, build_submit
from gateway.mms.callbacks import PROVIDER
from gateway.mms.client import Mm7Client
from gateway.observability import logger

MMS_LANE = "mms"  # the MMSC sets no rate: one lane for every MMS


@dataclass(frozen=True, slots=True)
class _Part:
    """A part ready but for its bytes when they live in S3 (read at send time)."""

    part: OutboundPart
    s3_uri: str | None = None

    def load(self) -> OutboundPart:
        if self.s3_uri is None:
            return self.part
        return OutboundPart(self.part.content_type, fetch(self.s3_uri), self.part.charset)


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
    ) -> None:
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
        request, parts = prepared.route.request, prepared.route.parts
        content_type, body = before_the_call(partial(self._submit_request, request, parts))
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
            parts=[part.load() for part in parts],
        )
