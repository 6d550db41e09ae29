import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.masking import mask_msisdn
from gateway.core.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    count_segments,
    encoding,
    is_gsm7,
    to_gsm7,
)


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


def test_the_encoding_is_gsm7_unless_a_character_is_missing_from_it() -> None:
    assert encoding("Ça coûte 5 € à Noël") == "UCS-2"  # û and ë are not in GSM-7
    assert encoding("Ça coute 5 € à Noel [1]") == "GSM-7"  # Ç, à, € and [ are


def test_french_keeps_the_accents_gsm7_has_and_loses_only_the_others() -> None:
    kept = "é è à ù ì ò Ç É Ä Ö Ñ Ü ß € {}"
    assert to_gsm7(kept) == kept
    # \u2019 \u2018: typographic apostrophes; \u2013 \u2014: en and em dashes.
    assert to_gsm7("ç ê â î ô û ë ï ÿ œ Œ æ « » \u2019 \u2018 “ ” … \u2013 \u2014") == (
        "c e a i o u e i y oe Oe æ << >> ' ' \" \" ... - -"
    )
    assert to_gsm7("e\u0301te\u0301") == "été"  # accents written as combining marks


def test_what_anyascii_leaves_outside_gsm7_is_a_space_or_a_question_mark() -> None:
    assert to_gsm7("a\tb`c") == "a b?c"
    assert to_gsm7("🙂") == ":slight_smile:"


@given(st.text())
def test_transliterated_text_is_always_gsm7(text: str) -> None:
    assert is_gsm7(to_gsm7(text))


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION)))
def test_gsm7_text_is_left_as_it_is(text: str) -> None:
    assert to_gsm7(text) == text


def test_numbers_are_masked_in_the_middle() -> None:
    assert mask_msisdn("+2250700000001") == "+2250******001"
    assert mask_msisdn("tel:+221771234567") == "+2217*****567"
    assert "0700000" not in mask_msisdn("2250700000001")
    assert mask_msisdn("+12") == "**"
