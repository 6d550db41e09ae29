import pytest

from gateway.core.masking import mask_msisdn
from gateway.core.segments import count_segments


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("Hello!", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension table: two septets each
        ("€" * 81, 2),
        ("é" * 160, 1),  # é is in the GSM-7 basic table
        ("ç" * 70, 1),  # ç is not: UCS-2
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments(text: str, segments: int) -> None:
    assert count_segments(text) == segments


def test_numbers_are_masked_in_the_middle() -> None:
    assert mask_msisdn("+2250700000001") == "+2250******001"
    assert mask_msisdn("tel:+221771234567") == "+2217*****567"
    assert "0700000" not in mask_msisdn("2250700000001")
    assert mask_msisdn("+12") == "**"
