"""The send request: the JSON body applications put on the send queue (DESIGN.md).

Validation is strict (unknown fields refused) so a typo ends `failed` with a reason the
caller can read, instead of an SMS sent without the field they meant to set.
"""

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.core.model import utc_text

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
MessageId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
METADATA_MAX_BYTES = 2048
SUBJECT_MAX_CHARS = 200
MMS_TEXT_MAX_CHARS = 5000
MAX_ATTACHMENTS = 10
TEXT_MAX_CHARS = 1600
E164_MAX_DIGITS = 15
NATIONAL_MIN_DIGITS = 4


class InvalidRequest(ValueError):
    """The request can never be sent; the reason says why, for the caller. `claimed_id` and
    `claimed_channel` are what the request named, when usable, so that its failure is
    recorded under the caller's id."""

    def __init__(
        self, reason: str, *, claimed_id: str | None = None, claimed_channel: str | None = None
    ) -> None:
        super().__init__(reason)
        self.claimed_id = claimed_id
        self.claimed_channel = claimed_channel


def normalise_msisdn(value: str) -> str:
    """E.164 with or without `+` -> `+<digits>`.

    Numbering plans change (Cote d'Ivoire went from 8 to 10 digits in 2021), so beyond a known
    country code and E.164's length the carrier, not a bundled plan, decides what is valid.
    """
    digits = value.strip().removeprefix("+")
    if not digits.isdigit() or len(digits) > E164_MAX_DIGITS:
        raise ValueError("must be an international number: digits only, with or without +")
    try:
        number = phonenumbers.parse(f"+{digits}")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must start with a country code") from exc
    country_code = number.country_code or 0
    if phonenumbers.region_code_for_country_code(country_code) == "ZZ":
        raise ValueError("has an unknown country code")
    if len(str(number.national_number)) < NATIONAL_MIN_DIGITS:
        raise ValueError("is too short")
    return f"+{digits}"


def _metadata_fits(value: dict[str, Any]) -> dict[str, Any]:
    try:
        # Strict JSON: the status events carry the metadata, and EventBridge refuses a
        # Detail holding NaN or Infinity (json.loads reads both, and 1e999 as Infinity).
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise ValueError("must not hold NaN or Infinity, which are not JSON numbers") from exc
    if len(text) > METADATA_MAX_BYTES:
        raise ValueError(f"must be at most {METADATA_MAX_BYTES} bytes as JSON")
    return value


PRIORITIES = ("high", "normal", "bulk")  # in the order they take an account's rate slots
Priority = Literal["high", "normal", "bulk"]
VALID_FOR_MAX_SECONDS = 259_200  # 72 hours
SEND_AT_MAX_AHEAD = timedelta(days=30)
CAMPAIGN_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def _send_at(value: str) -> str:
    """RFC 3339 with an offset, at most 30 days ahead -> the same moment as `utc_text` writes it."""
    if not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date and time with an offset (2026-12-24T09:00:00Z)")
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    except ValueError as exc:
        raise ValueError(f"is not a date and time: {exc}") from exc
    if moment - datetime.now(UTC) > SEND_AT_MAX_AHEAD:
        raise ValueError(f"must be at most {SEND_AT_MAX_AHEAD.days} days ahead")
    return utc_text(moment)


class _Scheduling(BaseModel):
    """How an SMS or MMS is scheduled (DESIGN.md, "Send request")."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    priority: Priority = "normal"
    valid_for: Annotated[int, Field(ge=1, le=VALID_FOR_MAX_SECONDS)] | None = Field(
        default=None, alias="validFor"
    )
    send_at: Annotated[str, AfterValidator(_send_at)] | None = Field(default=None, alias="sendAt")
    campaign: Annotated[str, StringConstraints(pattern=CAMPAIGN_PATTERN)] | None = None


class SmsRequest(_Scheduling):
    id: MessageId | None = None
    channel: Literal["sms"]
    to: Annotated[str, AfterValidator(normalise_msisdn)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX_CHARS)]
    sender_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ]{1,11}$")] | None = Field(
        default=None, alias="senderName"
    )
    on_net: bool = Field(default=False, alias="onNet")
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_fits)] = Field(
        default_factory=dict
    )

    @field_validator("sender_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value


class Attachment(BaseModel):
    """An MMS part: from S3 (`s3Uri`) or inline (`base64`), exactly one of them."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    content_type: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
    ] = Field(alias="contentType")
    s3_uri: Annotated[str, StringConstraints(pattern=r"^s3://[a-z0-9.-]{3,63}/.+$")] | None = Field(
        default=None, alias="s3Uri"
    )
    base64_data: str | None = Field(default=None, alias="base64")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.s3_uri is None) == (self.base64_data is None):
            raise ValueError("give exactly one of s3Uri and base64")
        if self.base64_data is not None:
            try:
                base64.b64decode(self.base64_data, validate=True)
            except binascii.Error as exc:
                raise ValueError("base64 is not valid base64") from exc
        return self


class MmsRequest(_Scheduling):
    id: MessageId | None = None
    channel: Literal["mms"]
    to: Annotated[str, AfterValidator(normalise_msisdn)]
    subject: Annotated[str, StringConstraints(max_length=SUBJECT_MAX_CHARS)] | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=MMS_TEXT_MAX_CHARS)] | None = (
        None
    )
    attachments: Annotated[list[Attachment], Field(max_length=MAX_ATTACHMENTS)] = Field(
        default_factory=list
    )
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_fits)] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if self.text is None and not self.attachments:
            raise ValueError("an MMS needs a text or at least one attachment")
        return self


class OrangePlMmsRequest(BaseModel):
    """An MMS sent through Orange Poland's MMSONnet, registered here to follow its status."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: MessageId | None = None
    channel: Literal["orange-pl-mms"]
    provider_message_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")] = (
        Field(alias="providerMessageId")
    )
    to: Annotated[str, AfterValidator(normalise_msisdn)] | None = None
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_fits)] = Field(
        default_factory=dict
    )


SendRequest = SmsRequest | MmsRequest | OrangePlMmsRequest
ScheduledRequest = SmsRequest | MmsRequest
_REQUEST = TypeAdapter[SendRequest](Annotated[SendRequest, Field(discriminator="channel")])
CHANNELS = ("sms", "mms", "orange-pl-mms")
_ID_RE = re.compile(ID_PATTERN)


def parse_send_request(body: str) -> SendRequest:
    """The validated request, or InvalidRequest with every problem in one readable line. The
    body is read once, whatever it holds: deep nesting or a huge number is an invalid request
    like any other, never an exception that would fail the whole batch. NaN and Infinity,
    which json.loads reads, are refused by the fields' types (metadata's by its validator),
    so that the request fails under its own id with the field named."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"body is not JSON: {exc.msg} at position {exc.pos}") from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidRequest(f"body is not JSON this gateway can read: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidRequest("body must be a JSON object")
    try:
        return _REQUEST.validate_python(payload)
    except ValidationError as exc:
        raise InvalidRequest(
            _describe(exc),
            claimed_id=_claimed(payload.get("id"), lambda v: bool(_ID_RE.match(v))),
            claimed_channel=_claimed(payload.get("channel"), lambda v: v in CHANNELS),
        ) from exc


def _claimed(value: object, usable: Callable[[str], bool]) -> str | None:
    return value if isinstance(value, str) and usable(value) else None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if loc and loc[0] in CHANNELS:
            loc = loc[1:]  # the union's tag: the channel, already known to the caller
        where = ".".join(str(part) for part in loc) or "request"
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "value_error":
            message = str(
                error.get("ctx", {}).get("error", error["msg"])
            )  # without "Value error, "
        else:
            message = error["msg"]
        problems.append(f"{where}: {message}")
    return "; ".join(problems)
