import json

import pytest

from gateway.core.send_request import (
    InvalidRequest,
    MmsRequest,
    OrangePlMmsRequest,
    SmsRequest,
    parse_send_request,
)


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
                "to": "+22507000001",
                "text": "Hello!",
                "senderName": "MonService",
                "onNet": False,
                "metadata": {"any": "thing"},
            }
        )
    )
    assert isinstance(request, SmsRequest)
    assert request.id == "order-42"
    assert request.to == "+22507000001"
    assert request.sender_name == "MonService"
    assert request.metadata == {"any": "thing"}


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
