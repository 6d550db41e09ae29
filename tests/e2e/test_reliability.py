"""The reliability run of `make reliability` (bench/reliability.py) at a reduced size: 100 SMS
through the local stack while the Orange simulator injects faults from a seeded RNG, with
`"id": null` requests and malformed bodies in the batches, a 25-second Orange outage and
dispatchers killed between recording a send and applying its early receipts. The run's
invariants are asserted, never its times or its counts by status."""

import pytest

from bench.reliability import ReliabilityPlan, run_reliability

pytestmark = pytest.mark.e2e


def test_under_faults_every_sms_settles_and_none_is_sent_twice() -> None:
    # A shorter wait than the full run's, so a stuck message fails here, within the
    # test timeout, with the violations listed.
    report = run_reliability(ReliabilityPlan.reduced())

    assert report.violations == []
    assert report.messages == 100
    assert report.statuses.total() == 110  # and the 10 malformed bodies
    # The run went through what it claims to: injected faults and token expiries, requests
    # without an id, malformed bodies of each kind, the outage, answers after the send and
    # early receipts, a dispatcher killed between the two.
    assert report.faults_injected.total() > 0
    assert report.token_expiries > 0
    assert report.null_ids == 10
    assert set(report.malformed.values()) == {2}
    assert report.faults_injected["outage"] > 0
    assert report.after_the_send["http_502"] + report.after_the_send["http_504"] > 0
    assert report.after_the_send["early_receipts"] > 0
    assert report.killed_lanes
