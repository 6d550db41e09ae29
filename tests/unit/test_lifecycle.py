import pytest

from gateway.core.lifecycle import HISTORY_LIMIT, Progress, StatusUpdate, advance
from gateway.core.status import Status, can_move
from gateway.orange.statuses import normalise_orange_sms

S = Status


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (S.ACCEPTED, S.SUBMITTED, True),
        (S.SUBMITTED, S.SENT, True),
        (S.SENT, S.DELIVERED, True),
        (S.UNDELIVERED, S.DELIVERED, True),  # DeliveryImpossible may still be delivered
        (S.UNKNOWN, S.UNDELIVERED, True),
        (S.DELIVERED, S.UNDELIVERED, False),  # delivered is final
        (S.UNDELIVERED, S.SENT, False),  # never backwards
        (S.SENT, S.SENT, False),
        (S.ACCEPTED, S.REJECTED, True),
        (S.SUBMITTED, S.FAILED, True),
        (S.SENT, S.REJECTED, False),  # rejected only before sent
        (S.UNKNOWN, S.FAILED, False),
        (S.REJECTED, S.DELIVERED, False),
        (S.FAILED, S.SUBMITTED, False),
        (S.ACCEPTED, S.UNKNOWN, True),
        (S.ACCEPTED, S.EXPIRED, True),
        (S.ACCEPTED, S.CANCELLED, True),
        (S.SUBMITTED, S.EXPIRED, False),  # submitted: the carrier has it, it was sent
        (S.SUBMITTED, S.CANCELLED, False),
        (S.SENT, S.CANCELLED, False),
        (S.EXPIRED, S.SUBMITTED, False),  # final
        (S.CANCELLED, S.DELIVERED, False),
        (S.CANCELLED, S.EXPIRED, False),
    ],
)
def test_status_moves_only_forward(current: Status, new: Status, allowed: bool) -> None:
    assert can_move(current, new) is allowed


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("DeliveredToNetwork", S.SENT),
        ("MessageWaiting", S.SENT),
        ("DeliveryUncertain", S.UNKNOWN),
        ("DeliveryImpossible", S.UNDELIVERED),
        ("DeliveredToTerminal", S.DELIVERED),
        ("deliveredtoterminal", S.DELIVERED),
        ("SomethingNew", S.UNKNOWN),
    ],
)
def test_orange_statuses_normalise_as_designed(raw: str, status: Status) -> None:
    assert normalise_orange_sms(raw) is status


def receipt(status: Status, raw: str, at: str = "2026-01-01T00:00:00.000Z") -> StatusUpdate:
    return StatusUpdate(status=status, at=at, source="orange-dr", provider_status=raw)


def test_receipts_apply_in_rank_order_whatever_their_arrival_order() -> None:
    progress = Progress(status=S.SUBMITTED)
    for update in (
        receipt(S.DELIVERED, "DeliveredToTerminal"),
        receipt(S.SENT, "DeliveredToNetwork"),
    ):
        nxt = advance(progress, update)
        assert nxt is not None
        progress = nxt
    assert progress.status is S.DELIVERED
    assert progress.provider_status == "DeliveredToTerminal"
    assert [h["providerStatus"] for h in progress.history] == [
        "DeliveredToTerminal",
        "DeliveredToNetwork",
    ]


def test_an_exact_duplicate_is_recorded_once() -> None:
    first = advance(Progress(status=S.SUBMITTED), receipt(S.SENT, "DeliveredToNetwork"))
    assert first is not None
    assert advance(first, receipt(S.SENT, "DeliveredToNetwork", at="later")) is None


def test_history_is_bounded_and_keeps_the_latest() -> None:
    progress = Progress(status=S.SENT)
    for i in range(HISTORY_LIMIT + 10):
        nxt = advance(progress, receipt(S.SENT, f"Raw{i}"))
        assert nxt is not None
        progress = nxt
    assert len(progress.history) == HISTORY_LIMIT
    assert progress.history[-1]["providerStatus"] == f"Raw{HISTORY_LIMIT + 9}"


def test_reason_and_provider_status_follow_the_status_that_moved() -> None:
    start = Progress(status=S.ACCEPTED)
    failed = advance(start, StatusUpdate(S.FAILED, "t", "gateway", reason="bad"))
    assert failed is not None
    assert (failed.status, failed.reason) == (S.FAILED, "bad")
    late = advance(failed, receipt(S.DELIVERED, "DeliveredToTerminal"))
    assert late is not None
    assert (late.status, late.reason, late.provider_status) == (S.FAILED, "bad", None)
    assert len(late.history) == 2


def advanced(progress: Progress, *updates: StatusUpdate) -> Progress:
    for update in updates:
        nxt = advance(progress, update)
        assert nxt is not None
        progress = nxt
    return progress


def test_seen_is_bounded_like_the_history_and_holds_exactly_its_keys() -> None:
    updates = [receipt(S.SENT, f"Raw{i}") for i in range(3 * HISTORY_LIMIT)]
    progress = advanced(Progress(status=S.SENT), *updates)
    assert len(progress.seen) == len(progress.history) == HISTORY_LIMIT
    assert progress.seen == {u.dedupe_key for u in updates[-HISTORY_LIMIT:]}


def test_duplicates_of_the_latest_updates_are_recorded_once() -> None:
    updates = [receipt(S.SENT, f"Raw{i}") for i in range(3 * HISTORY_LIMIT)]
    progress = advanced(Progress(status=S.SENT), *updates)
    assert all(advance(progress, u) is None for u in updates[-HISTORY_LIMIT:])


def test_a_duplicate_older_than_the_history_is_recorded_again_but_moves_nothing() -> None:
    delivered = receipt(S.DELIVERED, "DeliveredToTerminal")
    others = [receipt(S.SENT, f"Raw{i}") for i in range(HISTORY_LIMIT)]
    progress = advanced(Progress(status=S.SUBMITTED), delivered, *others)
    again = advanced(progress, delivered)
    assert (again.status, again.provider_status) == (S.DELIVERED, "DeliveredToTerminal")
    assert again.history[-1]["providerStatus"] == "DeliveredToTerminal"
