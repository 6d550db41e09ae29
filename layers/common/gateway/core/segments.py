"""How many SMS segments a text needs, so balance use can be predicted (3GPP TS 23.038).

GSM-7 carries 160 septets in one SMS, or 153 per part when the 6-byte concatenation header
(UDH) is needed; characters of the extension table take two septets. Any other character
forces UCS-2: 70 UTF-16 units in one SMS, 67 per part.
"""

import math

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


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
