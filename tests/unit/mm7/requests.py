"""MM7 requests written by the tests, element by element (the corpus has the realistic ones)."""

from tests.unit.mm7.corpus import NS, SOAP_ENV

REL6 = NS + "REL-6-MM7-1-4"
# Each operation's mandatory elements (and a sender), as the corpus' usual requests have them.
USUAL: dict[str, dict[str, str]] = {
    "DeliveryReportReq": {
        "MessageID": "msg-1",
        "Recipient": "<Number>447700900123</Number>",
        "MMStatus": "Rejected",
    },
    "ReadReplyReq": {
        "MessageID": "msg-7",
        "Recipient": "<Number>447700900123</Number>",
        "MMStatus": "Read",
    },
    "DeliverReq": {
        "Sender": "<Number>447700900765</Number>",
        "Recipients": "<To><ShortCode>12345</ShortCode></To>",
    },
}


def request(operation: str, transaction_id: str = "tx-1", /, **elements: str | None) -> bytes:
    """The operation's usual elements with `elements` added or replaced (None: left out),
    inner XML as given."""
    fields = {"MM7Version": "6.8.0", **USUAL[operation], **elements}
    inner = "".join(f"<{name}>{text}</{name}>" for name, text in fields.items() if text is not None)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{SOAP_ENV}">'
        f'<env:Header><TransactionID xmlns="{REL6}" env:mustUnderstand="1">{transaction_id}'
        f'</TransactionID></env:Header><env:Body><{operation} xmlns="{REL6}">{inner}'
        f"</{operation}></env:Body></env:Envelope>"
    ).encode()
