"""How many SMS segments a text needs, so balance use can be predicted (3GPP TS 23.038).

GSM-7 carries 160 septets in one SMS, or 153 per part when the 6-byte concatenation header
(UDH) is needed; characters of the extension table take two septets. Any other character
forces UCS-2: 70 UTF-16 units in one SMS, 67 per part.

A request may ask for its text to be transliterated (`to_gsm7`): French text then stays in
GSM-7, 160 characters an SMS rather than 70.
"""

import math
import unicodedata
from typing import Literal

from anyascii import anyascii

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
Encoding = Literal["GSM-7", "UCS-2"]


def _in_gsm7(ch: str) -> bool:
    return ch in GSM7_BASIC or ch in GSM7_EXTENSION


def is_gsm7(text: str) -> bool:
    return all(_in_gsm7(ch) for ch in text)


def encoding(text: str) -> Encoding:
    """The alphabet an SMS of `text` is sent in."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def to_gsm7(text: str) -> str:
    """`text` with each character GSM-7 lacks replaced by its closest GSM-7 form, anyascii's
    transliteration (ç -> c, œ -> oe, « -> <<); those GSM-7 has (é, è, à, ù, Ç, É, €)
    stay as written. What anyascii gives that GSM-7 still lacks (a tab, a backtick) becomes a
    space or `?`, so the result is always GSM-7."""
    composed = unicodedata.normalize("NFC", text)  # e + a combining accent is é, which GSM-7 has
    return "".join(ch if _in_gsm7(ch) else _closest(ch) for ch in composed)


def _closest(ch: str) -> str:
    return "".join(out if _in_gsm7(out) else " " if out.isspace() else "?" for out in anyascii(ch))


def count_segments(text: str) -> int:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part = UCS2_SINGLE, UCS2_PART
    if units <= single:
        return 1
    return math.ceil(units / part)
