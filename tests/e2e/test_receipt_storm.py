"""The receipt storm of `make reliability` (bench/receipt_storm.py) at a reduced size: 1,000
Orange receipts for 100 messages, duplicated, shuffled, some before their send is recorded,
POSTed concurrently through the local stack. Its invariants are asserted, never its speed."""

import pytest

from bench.receipt_storm import NORMALISED, StormPlan, run_storm

pytestmark = pytest.mark.e2e


def test_every_message_ends_in_the_status_its_receipts_give() -> None:
    plan = StormPlan(messages=100)
    report = run_storm(plan)

    assert report.violations == []
    assert report.statuses == report.expected
    # The storm went through what it claims to: every final status, exact duplicates, and
    # receipts answered before their send was recorded.
    assert set(report.expected) == set(NORMALISED.values())
    assert report.receipts == 1000 > report.statuses.total() * len(NORMALISED)
    assert report.early_messages > 0
    assert report.answered_before_send >= report.early_messages * plan.early_receipts
