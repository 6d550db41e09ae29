import json

import pytest

from gateway.aws.message_store import MessageRepository
from gateway.core.intake import Intake
from gateway.core.send_request import (
    SMS_NUMBER_TYPES,
    InvalidRequest,
    MmsRequest,
    OrangePlMmsRequest,
    SendRequest,
    SmsRequest,
    number_type,
    parse_send_request,
    require_number_type,
)
from gateway.core.sending import Prepared, Result
from gateway.core.status import Status
from tests.fakes import MemoryMessageStore
from tests.pipeline import Pipeline


def body(**fields: object) -> str:
    base: dict[str, object] = {"channel": "sms", "to": "+2250700000001", "text": "Hello!"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


def test_the_design_example_is_valid() -> None:
    request = parse_send_request(
        json.dumps(
            {
                "id": "order-42",
                "channel": "sms",
                "to": "+2250700000001",
                "text": "Hello!",
                "senderName": "MonService",
                "onNet": False,
                "metadata": {"any": "thing"},
                "transliterate": True,
                "maxSegments": 2,
            }
        )
    )
    assert isinstance(request, SmsRequest)
    assert request.id == "order-42"
    assert request.to == "+2250700000001"
    assert request.sender_name == "MonService"
    assert request.metadata == {"any": "thing"}
    assert (request.transliterate, request.max_segments) == (True, 2)


def test_number_without_plus_is_normalised() -> None:
    assert parse_send_request(body(to="221771234567")).to == "+221771234567"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"colour": "red"}, "colour: unknown field"),
        ({"senderName": "Twelve chars"}, "senderName"),
        ({"senderName": "Mon-Service"}, "senderName"),
        ({"to": "+99912345"}, "to:"),
        ({"to": "0700000001x"}, "to:"),
        ({"to": "+1234567890123456"}, "to:"),
        # Possible numbers only: Cote d'Ivoire's numbers have 10 digits since 2021.
        ({"to": "+22507000001"}, "to: is too short for its country"),
        ({"to": "+33612345678901"}, "to: is too long for its country"),
        ({"maxSegments": 0}, "maxSegments"),
        ({"maxSegments": 256}, "maxSegments"),
        ({"maxSegments": "2"}, "maxSegments"),
        ({"maxSegments": True}, "maxSegments"),
        ({"transliterate": "yes"}, "transliterate"),
        ({"text": ""}, "text"),
        ({"id": "has space"}, "id"),
        ({"id": "x" * 129}, "id"),
        ({"channel": "fax"}, "channel"),
        ({"onNet": "yes"}, "onNet"),
        ({"metadata": {"big": "x" * 3000}}, "metadata"),
        ({"priority": "urgent"}, "priority: Input should be 'high', 'normal' or 'bulk'"),
        ({"validFor": 0}, "validFor"),
        ({"validFor": 259_201}, "validFor"),
        ({"validFor": "300"}, "validFor"),
        ({"sendAt": "2026-12-24T09:00:00"}, "sendAt: must be an RFC 3339 date and time"),
        ({"sendAt": "2026-12-24"}, "sendAt: must be an RFC 3339"),
        ({"sendAt": "2026-W52-4T09:00:00Z"}, "sendAt: must be an RFC 3339"),
        ({"sendAt": "2026-02-30T09:00:00Z"}, "sendAt: is not a date and time"),
        ({"sendAt": "2099-01-01T00:00:00Z"}, "sendAt: must be at most 30 days ahead"),
        ({"campaign": ""}, "campaign"),
        ({"campaign": "x" * 65}, "campaign"),
        ({"campaign": "black friday"}, "campaign"),
        ({"resendOf": "order-42~r1"}, "resendOf: String should match pattern"),
        ({"resendOf": "x" * 129}, "resendOf"),
        ({"resendOf": ""}, "resendOf"),
        ({"resendOf": 42}, "resendOf"),
    ],
)
def test_invalid_requests_say_why(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        parse_send_request(body(**fields))


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_an_object_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_send_request(raw)


def claimed(raw: str) -> tuple[str | None, str | None]:
    with pytest.raises(InvalidRequest) as invalid:
        parse_send_request(raw)
    return invalid.value.claimed_id, invalid.value.claimed_channel


def test_an_invalid_request_keeps_its_id_when_the_id_is_usable() -> None:
    assert claimed(body(id="order-1", colour="red")) == ("order-1", "sms")
    assert claimed(body(id="bad id")) == (None, "sms")
    assert claimed(json.dumps({"id": "x", "channel": "fax"})) == ("x", None)
    assert claimed("nope") == (None, None)


@pytest.mark.parametrize(
    "raw",
    ["[" * 3000 + "]" * 3000, '{"id": "n", "channel": "sms", "x": ' + "9" * 5000 + "}"],
    ids=["deeply nested", "5000-digit number"],
)
def test_any_body_is_an_invalid_request_never_an_exception(raw: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_send_request(raw)


def test_the_design_mms_and_orange_pl_examples_are_valid() -> None:
    mms = parse_send_request(
        json.dumps(
            {
                "id": "promo-7",
                "channel": "mms",
                "to": "+12125550123",
                "subject": "Voucher",
                "text": "optional text part",
                "attachments": [
                    {"contentType": "image/jpeg", "s3Uri": "s3://bucket/key"},
                    {"contentType": "text/plain", "base64": "SGVsbG8="},
                ],
            }
        )
    )
    assert isinstance(mms, MmsRequest)
    assert [a.content_type for a in mms.attachments] == ["image/jpeg", "text/plain"]
    pl = parse_send_request(
        '{"id": "pl-1", "channel": "orange-pl-mms", "providerMessageId": "b413"}'
    )
    assert isinstance(pl, OrangePlMmsRequest)
    assert pl.provider_message_id == "b413"


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ({"channel": "mms", "to": "+12125550123"}, "needs a text or at least one attachment"),
        (
            {"channel": "mms", "to": "+12125550123", "attachments": [{"contentType": "image/png"}]},
            "exactly one of s3Uri and base64",
        ),
        (
            {
                "channel": "mms",
                "to": "+12125550123",
                "attachments": [{"contentType": "image/png", "base64": "not base64!"}],
            },
            "not valid base64",
        ),
        (
            {
                "channel": "mms",
                "to": "+12125550123",
                "text": "x",
                "attachments": [{"contentType": "image/png", "s3Uri": "http://x/y"}],
            },
            "s3Uri",
        ),
        ({"channel": "mms", "to": "+12125550123", "text": "x", "transliterate": True}, "unknown"),
        ({"channel": "mms", "to": "+12125550123", "text": "x", "maxSegments": 1}, "unknown"),
        ({"channel": "mms", "to": "+2250700001", "text": "x"}, "to: is too short"),
        ({"channel": "orange-pl-mms"}, "providerMessageId"),
        (
            {"channel": "orange-pl-mms", "providerMessageId": "x", "text": "no"},
            "text: unknown field",
        ),
    ],
)
def test_invalid_mms_requests_say_why(request_: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        parse_send_request(json.dumps(request_))


def test_scheduling_fields_are_read_and_sendat_kept_in_utc() -> None:
    request = parse_send_request(
        body(priority="bulk", validFor=259_200, sendAt="2026-12-24T09:00:00+01:00", campaign="x:1")
    )
    assert isinstance(request, SmsRequest)
    assert (request.priority, request.valid_for, request.campaign) == ("bulk", 259_200, "x:1")
    assert request.send_at == "2026-12-24T08:00:00.000Z"
    assert parse_send_request(body()).priority == "normal"  # type: ignore[union-attr]


# -- NaN and Infinity: json.loads reads them, JSON has no such numbers ----------------------

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999"]  # 1e999 overflows to Infinity
BASES = {
    "sms": '"channel": "sms", "to": "+2250700000001", "text": "Hi"',
    "mms": '"channel": "mms", "to": "+12125550123", "text": "Hi"',
    "orange-pl-mms": '"channel": "orange-pl-mms", "providerMessageId": "b413"',
}


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize("channel", list(BASES))
@pytest.mark.parametrize(
    "metadata", ['{"score": %s}', '{"a": {"b": [1, %s]}}'], ids=["top", "nested"]
)
def test_nan_or_infinity_in_metadata_is_refused_under_the_requests_id(
    number: str, channel: str, metadata: str
) -> None:
    raw = f'{{"id": "order-9", {BASES[channel]}, "metadata": {metadata % number}}}'
    with pytest.raises(InvalidRequest, match="metadata: must not hold NaN or Infinity") as refused:
        parse_send_request(raw)
    assert (refused.value.claimed_id, refused.value.claimed_channel) == ("order-9", channel)


def test_nan_from_a_python_caller_is_refused_too() -> None:
    """json.dumps writes float('nan') as NaN: a caller building the request in Python."""
    with pytest.raises(InvalidRequest, match="metadata: must not hold NaN"):
        parse_send_request(body(metadata={"ratio": float("nan")}))


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize("field", ["id", "to", "text", "senderName", "validFor", "onNet", "x"])
def test_nan_or_infinity_in_any_other_field_is_refused_by_its_type(number: str, field: str) -> None:
    raw = f'{{{BASES["sms"]}, "{field}": {number}}}'  # a repeated key: json.loads keeps the last
    with pytest.raises(InvalidRequest, match=field):
        parse_send_request(raw)


class _Accepting:
    """A channel that takes any request: only the validation is under test."""

    def prepare(self, request: SendRequest) -> Prepared[None]:
        return Prepared(channel="sms", to="+2250700000001", provider="fake", lane="l", route=None)

    def send(self, prepared: Prepared[None], max_wait: float) -> str:
        return "ref"


def test_a_request_with_nan_metadata_ends_failed_with_the_reason_and_no_metadata() -> None:
    """Its status events carry no metadata EventBridge would refuse (a Detail must be JSON)."""
    store = MemoryMessageStore()
    pipeline = Pipeline(store=store, channels={"sms": _Accepting()})
    assert pipeline.queue_request(body(id="ok", metadata={"n": 1.5})).result is Result.QUEUED
    raw = f'{{"id": "nan-1", {BASES["sms"]}, "metadata": {{"n": NaN}}}}'
    assert pipeline.queue_request(raw).result is Result.FAILED
    message = store.get("nan-1")
    assert message is not None
    assert message.status is Status.FAILED
    assert message.progress.reason == (
        "invalid request: metadata: must not hold NaN or Infinity, which are not JSON numbers"
    )
    json.dumps(message.metadata, allow_nan=False)


# -- Encoding, segments and numbers --------------------------------------------------------

# \u2019: the apostrophe French typography uses.
FRENCH = (
    "Noël à l\u2019hôtel : garçon, crème brûlée, œufs « maison » à 5 €… Où ça ? Ça va, Élodie !"
)


def sms_request(**fields: object) -> SmsRequest:
    request = parse_send_request(body(**fields))
    assert isinstance(request, SmsRequest)
    return request


def test_french_text_is_sent_as_written_unless_transliterated() -> None:
    assert sms_request(text=FRENCH).text == FRENCH
    # What GSM-7 has stays (à, è, é, ù, Ç, É, €); the rest takes its closest GSM-7 form.
    assert sms_request(text=FRENCH, transliterate=True).text == (
        "Noel à l'hotel : garcon, crème brulée, oeufs << maison >> à 5 €... Où ca ? Ça va, Élodie !"
    )


def test_max_segments_refuses_a_text_that_needs_more_naming_both_numbers() -> None:
    assert sms_request(text="a" * 160, maxSegments=1).max_segments == 1
    with pytest.raises(
        InvalidRequest, match=r"^maxSegments: the text needs 2 segments \(GSM-7\), "
    ):
        sms_request(text="a" * 161, maxSegments=1)
    # 85 characters, some of them not GSM-7: two UCS-2 segments, one once transliterated.
    with pytest.raises(InvalidRequest, match=r"needs 2 segments \(UCS-2\), more than 1$"):
        sms_request(text=FRENCH, maxSegments=1)
    assert sms_request(text=FRENCH, maxSegments=1, transliterate=True).max_segments == 1


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("+2250700000001", "MOBILE"),
        ("+2252120000000", "FIXED_LINE"),  # an Abidjan landline
        ("+33123456789", "FIXED_LINE"),
        ("+12125550123", "FIXED_LINE_OR_MOBILE"),  # the US plan cannot tell them apart
        ("+2250800000001", "UNKNOWN"),  # a range the plan does not list
    ],
)
def test_number_types_are_phonenumbers(number: str, kind: str) -> None:
    assert number_type(number) == kind


def test_a_fixed_line_is_refused_by_default_with_the_types_sent_to() -> None:
    with pytest.raises(InvalidRequest) as refused:
        require_number_type("+2252120000000", SMS_NUMBER_TYPES)
    assert str(refused.value) == (
        "to: the number is FIXED_LINE; SMS go only to FIXED_LINE_OR_MOBILE, MOBILE, UNKNOWN numbers"
    )
    for taken in ("+2250700000001", "+12125550123", "+2250800000001"):
        require_number_type(taken, SMS_NUMBER_TYPES)


def test_a_number_that_may_be_a_mobile_goes_where_mobiles_go() -> None:
    require_number_type("+12125550123", ["MOBILE"])
    require_number_type("+12125550123", ["FIXED_LINE"])
    with pytest.raises(InvalidRequest, match="UNKNOWN"):
        require_number_type("+2250800000001", ["MOBILE"])  # UNKNOWN refused when not listed
    with pytest.raises(InvalidRequest, match="FIXED_LINE_OR_MOBILE"):
        require_number_type("+12125550123", ["VOIP"])


def test_an_sms_to_a_landline_ends_failed_at_intake_with_the_reason() -> None:
    store = MemoryMessageStore()
    pipeline = Pipeline(store=store, channels={"sms": _Accepting(), "mms": _Accepting()})

    landline = body(id="landline", to="+2252120000000")
    assert pipeline.queue_request(landline).result is Result.FAILED
    message = store.get("landline")
    assert message is not None
    assert (message.status, message.channel) == (Status.FAILED, "sms")
    assert message.progress.reason == (
        "invalid request: to: the number is FIXED_LINE; SMS go only to FIXED_LINE_OR_MOBILE,"
        " MOBILE, UNKNOWN numbers"
    )
    # An MMS is the MMSC's to route: not type-checked.
    mms = {"id": "mms-landline", "channel": "mms", "to": "+2252120000000", "text": "x"}
    assert pipeline.queue_request(mms).result is Result.QUEUED


def test_the_intake_sends_sms_to_the_types_it_is_given() -> None:
    store = MemoryMessageStore()
    pipeline = Pipeline(store=store, channels={"sms": _Accepting()})
    pipeline.intake = Intake(store=store, queue=pipeline.queue, sms_number_types=["FIXED_LINE"])

    assert pipeline.queue_request(body(id="fixed", to="+33123456789")).result is Result.QUEUED
    assert pipeline.queue_request(body(id="mobile")).result is Result.FAILED


@pytest.mark.usefixtures("aws")
def test_an_sms_encoding_is_kept_and_shown_by_the_status_view() -> None:
    store = MessageRepository("messages")
    pipeline = Pipeline(store=store, channels={"sms": _Accepting()})

    pipeline.queue_request(body(id="ucs2", text=FRENCH))
    pipeline.queue_request(body(id="gsm7", text=FRENCH, transliterate=True))

    views = {i: store.get(i).public_view() for i in ("ucs2", "gsm7")}  # type: ignore[union-attr]
    assert {i: view["encoding"] for i, view in views.items()} == {"ucs2": "UCS-2", "gsm7": "GSM-7"}


def test_resend_of_names_the_message_an_sms_or_mms_sends_again() -> None:
    mms = {"channel": "mms", "to": "+12125550123", "text": "x", "resendOf": "promo-7:a.b_c"}
    requests = [parse_send_request(b) for b in (body(resendOf="order-42"), json.dumps(mms), body())]
    assert [r.resend_of for r in requests if isinstance(r, SmsRequest | MmsRequest)] == [
        "order-42",
        "promo-7:a.b_c",
        None,
    ]
    # An Orange PL MMS was sent by Orange Poland: the gateway never sends one again.
    pl = {"channel": "orange-pl-mms", "providerMessageId": "b413", "resendOf": "pl-1"}
    with pytest.raises(InvalidRequest, match="resendOf: unknown field"):
        parse_send_request(json.dumps(pl))


@pytest.mark.usefixtures("aws")
def test_resend_of_is_kept_and_shown_by_the_status_view() -> None:
    store = MessageRepository("messages")
    pipeline = Pipeline(store=store, channels={"sms": _Accepting()})

    pipeline.queue_request(body(id="order-42.r1", resendOf="order-42"))
    pipeline.queue_request(body(id="order-43"))

    resent, plain = store.get("order-42.r1"), store.get("order-43")
    assert resent is not None
    assert plain is not None
    assert resent.public_view()["resendOf"] == "order-42"
    assert "resendOf" not in plain.public_view()
