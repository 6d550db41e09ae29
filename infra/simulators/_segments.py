"""How many SMS segments the carrier makes of a text (3GPP TS 23.038 and 23.040), counted
here on its own: the simulator checks the gateway's count, so it never borrows it.

A text all in the GSM 7-bit default alphabet and its extension table goes in GSM-7: 160
septets in one SMS; concatenated, 153 a part (the user data header takes 7), an extension
character (escape and character) taking two septets that never straddle two parts. Any
other character makes the whole text UCS-2: 70 UTF-16 code units in one SMS, 67 a part, a
surrogate pair never split between two.
"""

from typing import Final

# TS 23.038 6.2.1, in code order from 0x00, without 0x1B (the escape to the extension table).
GSM7_DEFAULT: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 6.2.1.1: form feed ^ { } \ [ ~ ] | and the euro sign, each after an escape.
GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def count_segments(text: str) -> int:
    """The SMS segments `text` is sent in."""
    if all(ch in GSM7_DEFAULT or ch in GSM7_EXTENSION for ch in text):
        septets = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return _parts(septets, GSM7_SINGLE, GSM7_PART)
    code_units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _parts(code_units, UCS2_SINGLE, UCS2_PART)


def _parts(sizes: list[int], single: int, part: int) -> int:
    """Parts for characters of these sizes: one if all fit in `single`, else `part` a part,
    a character wholly in one part."""
    if sum(sizes) <= single:
        return 1
    parts, room = 1, part
    for size in sizes:
        if size > room:
            parts, room = parts + 1, part
        room -= size
    return parts
