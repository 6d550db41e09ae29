"""The reliability run of `make reliability` (bench/reliability.py) at a reduced size: 100 SMS
through the local stack while the Orange simulator injects faults from a seeded RNG. The
run's invariants are asserted, never its times or its counts by status."""

import pytest

from bench.reliability import ReliabilityPlan, run_reliability

pytestmark = pytest.mark.e2e


def test_under_faults_every_sms_settles_and_none_is_sent_twice() -> None:
    # A shorter wait than the full run's, so a stuck message fails here, within the
    # test timeout, with the violations listed.
    report = run_reliability(ReliabilityPlan(messages=100, settle_seconds=180))

    assert report.violations == []
    assert report.statuses.total() == 100
    # The run went through what it claims to: injected faults and token expiries.
    assert report.faults_injected.total() > 0
    assert report.token_expiries > 0
