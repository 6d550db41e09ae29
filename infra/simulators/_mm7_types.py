"""The MMSC simulator's own MM7 vocabulary (3GPP TS 23.140): status codes, addresses, content
parts, the SOAP header a reply echoes. Written here from the spec and the seeds, never taken
from the gateway's codec, so that a bug there cannot pass on both sides."""

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
DEFAULT_NAMESPACE: Final = (
    "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
)
DEFAULT_VERSION: Final = "6.8.0"


class StatusCode(IntEnum):
    SUCCESS = 1000
    MULTIMEDIA_CONTENT_REFUSED = 2004
    SERVER_ERROR = 3000
    UNSUPPORTED_OPERATION = 4003
    VALIDATION_ERROR = 4004
    SERVICE_UNAVAILABLE = 4006  # the MMSC is overloaded

    @property
    def phrase(self) -> str:
        return _PHRASES[self]


_PHRASES: Final = {
    StatusCode.SUCCESS: "Success",
    StatusCode.MULTIMEDIA_CONTENT_REFUSED: "Multimedia content refused",
    StatusCode.SERVER_ERROR: "Server Error",
    StatusCode.UNSUPPORTED_OPERATION: "Unsupported operation",
    StatusCode.VALIDATION_ERROR: "Validation error",
    StatusCode.SERVICE_UNAVAILABLE: "Service unavailable",
}


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """What a reply echoes: the operation's namespace ("" when none), the TransactionID and
    the MM7Version."""

    namespace: str
    transaction_id: str | None = None
    mm7_version: str | None = None


class Mm7Fault(Exception):
    """A request the simulator refuses with an MM7 status; `header` once it was read."""

    def __init__(
        self, status_code: StatusCode, text: str, header: RequestHeader | None = None
    ) -> None:
        super().__init__(text)
        self.status_code = status_code
        self.text = text
        self.header = header


class AddressKind(StrEnum):
    NUMBER = "Number"
    SHORT_CODE = "ShortCode"
    RFC2822 = "RFC2822Address"


@dataclass(frozen=True, slots=True)
class Address:
    value: str
    kind: AddressKind


@dataclass(frozen=True, slots=True)
class ContentPart:
    """One leaf MIME part of an MM, its body byte for byte."""

    content_type: str
    data: bytes
    content_id: str | None = None
    content_location: str | None = None
    charset: str | None = None
