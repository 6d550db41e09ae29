"""Phone numbers never reach a log whole."""

KEPT_DIGITS = 3


def mask_msisdn(number: str) -> str:
    """`+22507000001` -> `+2250*****001`: the country prefix and the last digits stay readable."""
    digits = number.removeprefix("tel:").removeprefix("+")
    if len(digits) <= KEPT_DIGITS + 4:
        return "*" * len(digits)
    prefix = "+" if number.removeprefix("tel:").startswith("+") else ""
    hidden = len(digits) - 4 - KEPT_DIGITS
    return f"{prefix}{digits[:4]}{'*' * hidden}{digits[-KEPT_DIGITS:]}"
