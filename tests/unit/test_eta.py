"""The send backlog's ETA: the rate limiter's slots per account and priority, the backlog
ahead, scheduled SMS no earlier than their sendAt."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cgw.eta import estimate, human_duration
from gateway.aws.ratelimit import DEFAULT_MARGIN, slot_seconds
from gateway.core.model import utc_text
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


def sms(to: str, text: str = "Hello!", **scheduling: Any) -> SendRequest:
    return parse_send_request(json.dumps({"channel": "sms", "to": to, "text": text, **scheduling}))


def mms() -> SendRequest:
    body: dict[str, Any] = {"channel": "mms", "to": "+12125550123", "text": "hi"}
    return parse_send_request(json.dumps(body))


def test_each_account_goes_at_its_own_rate() -> None:
    requests = [sms(CIV)] * 10 + [sms(MLI)] * 4
    etas = estimate(requests, config(ORANGE_ACCOUNT_RATES="mali=10"), ahead=0)

    # No priority given: every SMS is normal.
    assert list(etas) == [("default", "normal"), ("mali", "normal")]
    assert (etas["default", "normal"].sms, etas["default", "normal"].slots) == (10, 10)
    assert etas["default", "normal"].seconds == pytest.approx(10 * SLOT)
    assert etas["mali", "normal"].rate_per_second == 10
    assert etas["mali", "normal"].seconds == pytest.approx(4 * (1 + DEFAULT_MARGIN) / 10)


def test_segments_count_only_on_accounts_billed_per_segment() -> None:
    requests = [sms(CIV, TWO_SEGMENTS), sms(MLI, TWO_SEGMENTS), sms(MLI)]
    etas = estimate(requests, config(ORANGE_SEGMENT_BILLED_ACCOUNTS="mali"), ahead=0)

    assert etas["default", "normal"].slots == 1
    # A 2-part SMS takes 2 * 2 - 1 slots (the limiter's guard on each side), then 1.
    assert etas["mali", "normal"].slots == 3 + 1
    assert etas["mali", "normal"].seconds == pytest.approx(4 * SLOT)


def test_the_backlog_ahead_is_shared_like_the_requests_queued() -> None:
    # Half SMS through default, half MMS: half of the 20 ahead waits for default's rate too.
    requests = [sms(CIV)] * 5 + [mms()] * 5
    etas = estimate(requests, config(), ahead=20)

    assert etas["default", "normal"].sms == 5
    assert etas["default", "normal"].seconds == pytest.approx((5 + 10) * SLOT)
    # Without priorities, the same figure as before priorities existed, to the last bit.
    assert etas["default", "normal"].seconds == 5 * (1 + 20 / 10) * slot_seconds(5)


def test_mms_alone_wait_for_no_orange_rate() -> None:
    assert estimate([mms(), mms()], config(), ahead=100) == {}
    assert estimate([], config(), ahead=100) == {}


def test_a_high_sms_waits_only_behind_the_high_ones_and_bulk_behind_all() -> None:
    requests = (
        [sms(CIV, priority="bulk")] * 20
        + [sms(CIV)] * 5
        + [sms(CIV, TWO_SEGMENTS, priority="high")] * 2
        + [sms(MLI, priority="bulk")] * 3
    )
    # 30 ahead for these 30: each account and priority's share of the backlog is its own.
    etas = estimate(requests, config(ORANGE_SEGMENT_BILLED_ACCOUNTS="default"), ahead=30)

    default = [("default", priority) for priority in ("high", "normal", "bulk")]
    assert list(etas) == [*default, ("mali", "bulk")]
    high, normal, bulk = etas["default", "high"], etas["default", "normal"], etas["default", "bulk"]
    assert (high.sms, high.slots) == (2, 2 * 3)
    assert (normal.sms, normal.slots) == (5, 5)
    assert (bulk.sms, bulk.slots) == (20, 20)
    # The bulk backlog, this file's and the queue's, does not delay the high SMS at all.
    assert high.seconds == pytest.approx(6 * 2 * SLOT)
    assert normal.seconds == pytest.approx((6 + 5) * 2 * SLOT)
    assert bulk.seconds == pytest.approx((6 + 5 + 20) * 2 * SLOT)
    # Mali's bulk SMS have no one else's SMS in their way: priorities are per account.
    assert etas["mali", "bulk"].seconds == pytest.approx(3 * 2 * (1 + DEFAULT_MARGIN) / 5)


def test_a_scheduled_sms_counts_from_its_send_at() -> None:
    now = datetime.now(UTC)
    in_an_hour = utc_text(now + timedelta(hours=1))
    in_a_second = utc_text(now + timedelta(seconds=1))
    requests = [
        sms(CIV, priority="high", sendAt=in_an_hour),
        sms(CIV, priority="high"),
        *[sms(CIV, sendAt=in_a_second)] * 50,
        sms(MLI, sendAt=utc_text(now - timedelta(hours=1))),  # already due
    ]

    etas = estimate(requests, config(), ahead=0, now=now)

    # The last high one is not sent before its time, far beyond its two slots.
    assert etas["default", "high"].seconds == pytest.approx(3600, abs=0.001)
    # Its time comes long before its slots, behind the high ones, are free.
    assert etas["default", "normal"].seconds == pytest.approx((2 + 50) * SLOT)
    assert etas["mali", "normal"].seconds == pytest.approx(SLOT)


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
