"""The send backlog's ETA: the rate limiter's slots per account, the backlog ahead."""

import json
from typing import Any

import pytest

from cgw.eta import estimate, human_duration
from gateway.aws.ratelimit import DEFAULT_MARGIN
from gateway.core.send_request import SendRequest, parse_send_request
from gateway.orange.config import OrangeConfig

CIV, MLI = "+2250700000001", "+22376123456"
TWO_SEGMENTS = "x" * 161  # GSM-7: 153 per part once over 160
SLOT = (1 + DEFAULT_MARGIN) / 5  # the default account: 5 per second


def config(**env: str) -> OrangeConfig:
    return OrangeConfig.model_validate(
        {
            "ORANGE_API_URL": "https://orange.invalid",
            "ORANGE_CREDENTIALS_SECRET": "creds",
            "ORANGE_TOKEN_SECRET": "token",
            "ORANGE_COUNTRY_ACCOUNTS": "MLI=mali",
            **env,
        }
    )


def sms(to: str, text: str = "Hello!") -> SendRequest:
    return parse_send_request(json.dumps({"channel": "sms", "to": to, "text": text}))


def mms() -> SendRequest:
    body: dict[str, Any] = {"channel": "mms", "to": "+12125550123", "text": "hi"}
    return parse_send_request(json.dumps(body))


def test_each_account_goes_at_its_own_rate() -> None:
    requests = [sms(CIV)] * 10 + [sms(MLI)] * 4
    etas = estimate(requests, config(ORANGE_ACCOUNT_RATES="mali=10"), ahead=0)

    assert sorted(etas) == ["default", "mali"]
    assert (etas["default"].sms, etas["default"].slots) == (10, 10)
    assert etas["default"].seconds == pytest.approx(10 * SLOT)
    assert etas["mali"].rate_per_second == 10
    assert etas["mali"].seconds == pytest.approx(4 * (1 + DEFAULT_MARGIN) / 10)


def test_segments_count_only_on_accounts_billed_per_segment() -> None:
    requests = [sms(CIV, TWO_SEGMENTS), sms(MLI, TWO_SEGMENTS), sms(MLI)]
    etas = estimate(requests, config(ORANGE_SEGMENT_BILLED_ACCOUNTS="mali"), ahead=0)

    assert etas["default"].slots == 1
    # A 2-part SMS takes 2 * 2 - 1 slots (the limiter's guard on each side), then 1.
    assert etas["mali"].slots == 3 + 1
    assert etas["mali"].seconds == pytest.approx(4 * SLOT)


def test_the_backlog_ahead_is_shared_like_the_requests_queued() -> None:
    # Half SMS through default, half MMS: half of the 20 ahead waits for default's rate too.
    requests = [sms(CIV)] * 5 + [mms()] * 5
    etas = estimate(requests, config(), ahead=20)

    assert etas["default"].sms == 5
    assert etas["default"].seconds == pytest.approx((5 + 10) * SLOT)


def test_mms_alone_wait_for_no_orange_rate() -> None:
    assert estimate([mms(), mms()], config(), ahead=100) == {}
    assert estimate([], config(), ahead=100) == {}


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.3, "under a second"),
        (1.2, "2 s"),
        (59, "59 s"),
        (60, "1 min 00 s"),
        (245, "4 min 05 s"),
        (3600, "1 h 00 min"),
        (7830, "2 h 10 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ],
)
def test_durations_read_as_a_person_would_say_them(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown
