"""MM7 status codes (3GPP TS 23.140, the request status code table) and the error that carries
one back to the MMSC in a SOAP Fault."""

from enum import IntEnum

from gateway.mm7.model import RequestHeader


class StatusCode(IntEnum):
    SUCCESS = 1000
    # "An address was incorrectly formatted": here, over what the gateway stores.
    ADDRESS_ERROR = 2002
    # "The server could not parse the MIME content that was attached to the SOAP message and
    # indicated by the Content element, or the content size or media type was unacceptable":
    # the spec's code for a body over the limits, which the seeds do not list.
    MULTIMEDIA_CONTENT_REFUSED = 2004
    # "The MessageID specified in the request could not be found": a report naming a
    # MessageID longer than any the gateway keeps cannot be about one of its MMs.
    MESSAGE_ID_NOT_FOUND = 2005
    SERVER_ERROR = 3000
    UNSUPPORTED_OPERATION = 4003
    # "The SOAP and XML structures could not be parsed, mandatory fields are missing, ..."
    VALIDATION_ERROR = 4004

    @property
    def phrase(self) -> str:
        """The spec's StatusText for the code."""
        return _PHRASES[self]

    @property
    def is_server_error(self) -> bool:
        """3xxx: the VASP failed; 2xxx and 4xxx blame the request (SOAP faultcode Server/Client)."""
        return 3000 <= self < 4000


_PHRASES = {
    StatusCode.SUCCESS: "Success",
    StatusCode.ADDRESS_ERROR: "Address Error",
    StatusCode.MULTIMEDIA_CONTENT_REFUSED: "Multimedia content refused",
    StatusCode.MESSAGE_ID_NOT_FOUND: "Message ID Not found",
    StatusCode.SERVER_ERROR: "Server Error",
    StatusCode.UNSUPPORTED_OPERATION: "Unsupported operation",
    StatusCode.VALIDATION_ERROR: "Validation error",
}


class Mm7Error(Exception):
    """A request the gateway refuses; `header`, what could be read of it for the fault to echo."""

    def __init__(
        self, status_code: StatusCode, text: str, header: RequestHeader | None = None
    ) -> None:
        super().__init__(f"{int(status_code)} {status_code.phrase}: {text}")
        self.status_code = status_code
        self.text = text
        self.header = header
