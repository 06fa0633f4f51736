"""Decimal integers in text fields: ASCII digits only, and never a conversion of thousands of digits.

`str.isdigit()` accepts '²' (which int() refuses) and int() refuses strings of more than 4300
digits; a hostile file can hold both, so the text checkers read integers only through here.
"""

from __future__ import annotations

import re

_INTEGER = re.compile(r"[-+]?[0-9]+")
BEYOND_64_BITS = 1 << 64
INT32_MAX = 2**31 - 1


def parse_int(text: str, signed: bool = True) -> int | None:
    """The value of a decimal integer field, None when the text is not one (or has a sign when
    `signed` is false). Values past 64 bits come back as ±2**64: enough for every range check."""
    if not _INTEGER.fullmatch(text) or (not signed and text[0] in "+-"):
        return None
    negative, digits = text.startswith("-"), text.lstrip("+-").lstrip("0")  # leading zeros count too
    if len(digits) > 20:
        return -BEYOND_64_BITS if negative else BEYOND_64_BITS
    return -int(digits or "0") if negative else int(digits or "0")
