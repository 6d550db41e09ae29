"""The send request: the JSON body applications put on the send queue (DESIGN.md).

Validation is strict (unknown fields refused) so a typo ends `failed` with a reason the
caller can read, instead of an SMS sent without the field they meant to set.
"""

import base64
import binascii
import json
import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self

import phonenumbers
from phonenumbers import PhoneNumberType, ValidationResult
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gateway.core.model import rfc3339, utc_text
from gateway.core.segments import count_segments, encoding, to_gsm7

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
MessageId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
METADATA_MAX_BYTES = 2048
SUBJECT_MAX_CHARS = 200
MMS_TEXT_MAX_CHARS = 5000
MAX_ATTACHMENTS = 10
TEXT_MAX_CHARS = 1600
E164_MAX_DIGITS = 15
# The most parts a concatenated SMS can have: its header counts them in one byte (TS 23.040).
MAX_SEGMENTS = 255
# The number types (phonenumbers' names) an SMS is sent to unless the SmsNumberTypes template
# parameter says otherwise. UNKNOWN is a number of a possible length in a range the bundled
# plan does not list: plans change (new mobile ranges open, Cote d'Ivoire went from 8 to 10
# digits in 2021) faster than a deployed copy of the plan, so such a number goes to Orange,
# which knows its own network, rather than being refused on stale data.
SMS_NUMBER_TYPES = ("MOBILE", "FIXED_LINE_OR_MOBILE", "UNKNOWN")


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


_IMPOSSIBLE = {
    ValidationResult.TOO_SHORT: "is too short for its country",
    # A subscriber number without its area code: callable from inside the area only.
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is too short for its country",
    ValidationResult.TOO_LONG: "is too long for its country",
    ValidationResult.INVALID_LENGTH: "has a length its country's numbers never have",
}


def normalise_msisdn(value: str) -> str:
    """E.164 with or without `+` -> `+<digits>`, when the number is possible: a known country
    code and a length its country's plan allows (phonenumbers' possible-number check).

    Lengths change rarely and are announced long before (Cote d'Ivoire's 8 to 10 digits in
    2021); phonenumbers, pinned in requirements.lock, follows them (`make lock UPGRADE=1`).
    Which ranges are in use changes more often: that is left to the number-type check, which
    lets a range the plan does not know through (`SMS_NUMBER_TYPES`).
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
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise ValueError(_IMPOSSIBLE.get(possible, "is not a possible number"))
    return f"+{digits}"


def number_type(msisdn: str) -> str:
    """The type of a number `normalise_msisdn` took, by phonenumbers' name (MOBILE,
    FIXED_LINE, FIXED_LINE_OR_MOBILE, TOLL_FREE, ..., UNKNOWN)."""
    return str(PhoneNumberType.to_string(phonenumbers.number_type(phonenumbers.parse(msisdn))))


def require_number_type(msisdn: str, accepted: Collection[str]) -> None:
    """InvalidRequest unless the number is of one of the `accepted` types. A plan that cannot
    tell its mobiles from its fixed lines (the US, Canada) gives FIXED_LINE_OR_MOBILE: such a
    number goes wherever either type goes, or every American mobile would be refused."""
    found = number_type(msisdn)
    either = found == "FIXED_LINE_OR_MOBILE" and bool({"MOBILE", "FIXED_LINE"} & set(accepted))
    if found not in accepted and not either:
        raise InvalidRequest(
            f"to: the number is {found}; SMS go only to {', '.join(sorted(accepted))} numbers"
        )


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


def _send_at(value: str) -> str:
    """RFC 3339 with an offset, at most 30 days ahead -> the same moment as `utc_text` writes it."""
    moment = rfc3339(value)
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
    # The message this one sends again (`cgw resend`): kept and shown, never acted on.
    resend_of: MessageId | None = Field(default=None, alias="resendOf")
    channel: Literal["sms"]
    to: Annotated[str, AfterValidator(normalise_msisdn)]
    # Before `text`: fields are validated in this order, and the text's validator reads it.
    transliterate: bool = False
    text: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX_CHARS)]
    sender_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ]{1,11}$")] | None = Field(
        default=None, alias="senderName"
    )
    on_net: bool = Field(default=False, alias="onNet")
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_fits)] = Field(
        default_factory=dict
    )
    # After `text`: its validator reads the text as it will be sent.
    max_segments: Annotated[int, Field(ge=1, le=MAX_SEGMENTS)] | None = Field(
        default=None, alias="maxSegments"
    )

    @field_validator("sender_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("text")
    @classmethod
    def _transliterated(cls, value: str, info: ValidationInfo) -> str:
        """The text as it is sent: its length is checked as written, its segments (maxSegments,
        the message's count) as sent; the dispatcher reads the request again and sends the same
        text."""
        return to_gsm7(value) if info.data.get("transliterate") else value

    @field_validator("max_segments")
    @classmethod
    def _text_fits(cls, value: int | None, info: ValidationInfo) -> int | None:
        text = info.data.get("text")
        if value is not None and text is not None and count_segments(text) > value:
            raise ValueError(
                f"the text needs {count_segments(text)} segments ({encoding(text)}),"
                f" more than {value}"
            )
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
    resend_of: MessageId | None = Field(default=None, alias="resendOf")
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
