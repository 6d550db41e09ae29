"""The three MM7 requests an MMSC sends a VASP, here the gateway (3GPP TS 23.140 and the
seeds mm7-delivery-report.txt and mm7-deliver-mo-mms.txt), as typed values.

Values are kept as the MMSC sent them (stripped text): statuses are mapped in `statuses`,
and nothing here decides what the gateway does with a request.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

# The schemas of 23.140 Release 5 and 6 (the seeds use REL-6-MM7-1-4). Elements are matched
# by local name, so a request in a namespace outside this list is read all the same.
NAMESPACES: tuple[str, ...] = tuple(
    f"http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/{release}"
    for release in (
        "REL-5-MM7-1-0",
        "REL-5-MM7-1-1",
        "REL-5-MM7-1-2",
        "REL-5-MM7-1-3",
        "REL-6-MM7-1-0",
        "REL-6-MM7-1-1",
        "REL-6-MM7-1-2",
        "REL-6-MM7-1-3",
        "REL-6-MM7-1-4",
    )
)
# What a fault answers in when the request could not be read: the seeds' version.
DEFAULT_NAMESPACE = NAMESPACES[-1]
DEFAULT_VERSION = "6.8.0"


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """What a reply echoes: the operation's namespace ("" when it had none), the SOAP
    header's TransactionID and the MM7Version."""

    namespace: str
    transaction_id: str | None = None
    mm7_version: str | None = None


class AddressKind(StrEnum):
    NUMBER = "Number"
    SHORT_CODE = "ShortCode"
    RFC2822 = "RFC2822Address"  # also read from RFC822Address, the name older MMSCs use
    # Bare text in Sender, SenderAddress, To..., as older MMSCs send it, or the text of an
    # element that is none of the above.
    LEGACY = "legacy"


@dataclass(frozen=True, slots=True)
class Address:
    value: str
    kind: AddressKind
    display_only: bool = False


@dataclass(frozen=True, slots=True)
class HiddenSender:
    """A DeliverReq without a sender address: 23.140 makes Sender optional, and an MMSC
    leaves it out when the originator asked for their address to be hidden. `value` is None,
    never a string that could pass for an address."""

    value: None = None


@dataclass(frozen=True, slots=True)
class Recipients:
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()


@dataclass(frozen=True, slots=True)
class ContentPart:
    """One leaf MIME part of an MM: `data` is the decoded body, byte for byte."""

    content_type: str  # lower-case type/subtype, without parameters
    data: bytes
    content_id: str | None = None  # without angle brackets
    content_location: str | None = None
    charset: str | None = None  # as declared, if it was

    def text(self) -> str:
        """The declared charset, else UTF-8, else Latin-1 (which decodes any bytes): handsets
        often omit the charset or declare one their bytes do not follow."""
        for charset in (self.charset, "utf-8"):
            if charset:
                try:
                    return self.data.decode(charset)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.data.decode("latin-1")


@dataclass(frozen=True, slots=True)
class DeliveryReportRequest:
    """DeliveryReportReq: the state of an MM the gateway submitted (MessageID from SubmitRsp)."""

    OPERATION: ClassVar[str] = "DeliveryReportReq"
    RESPONSE: ClassVar[str] = "DeliveryReportRsp"

    header: RequestHeader
    message_id: str
    recipient: Address
    mm_status: str
    sender: Address | None = None
    date: str | None = None  # Date, or TimeStamp from MMSCs that use that name
    status_text: str | None = None  # the seed: carries the reason of a Rejected
    mm_status_extension: str | None = None
    status_detail: str | None = None


@dataclass(frozen=True, slots=True)
class DeliverRequest:
    """DeliverReq: a mobile-originated MM and its content parts."""

    OPERATION: ClassVar[str] = "DeliverReq"
    RESPONSE: ClassVar[str] = "DeliverRsp"

    header: RequestHeader
    sender: Address | HiddenSender
    recipients: Recipients = Recipients()
    parts: tuple[ContentPart, ...] = ()
    subject: str | None = None
    priority: str | None = None
    linked_id: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class ReadReplyRequest:
    """ReadReplyReq: the recipient's handset reports that it read (or deleted) an MM."""

    OPERATION: ClassVar[str] = "ReadReplyReq"
    RESPONSE: ClassVar[str] = "ReadReplyRsp"

    header: RequestHeader
    message_id: str
    recipient: Address
    mm_status: str
    sender: Address | None = None
    timestamp: str | None = None
    status_text: str | None = None


Request = DeliveryReportRequest | DeliverRequest | ReadReplyRequest
