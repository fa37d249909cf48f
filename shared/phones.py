"""Phone numbers (电话号码) in one canonical form, and what kind of Chinese number one is.

The one place that knows how people write Chinese numbers: full-width digits, separators,
the country code written as +86, 0086 or (before a mobile) a bare 86, and a landline's
trunk 0 that +86 drops. The residents' blind index hashes `normalise_phone`'s form; the
public masks read the same national form through `national_form`, so a number is one
number wherever it is looked at. Pure: no I/O.
"""

from __future__ import annotations

import unicodedata

from shared.errors import InvalidInput

CHINA = "86"
"""The country calling code whose numbers are kept in their national form."""

TRUNK = "0"
"""What a Chinese landline's area code is dialled after inside China (010, 0755)."""

_SEPARATORS = str.maketrans("", "", " -.()/\t")
"""What people put between digits; full-width forms (（）－) become these under NFKC."""

_SHORTEST, _LONGEST = 5, 15
"""Digits of a service number (95598) up to the longest E.164 number."""

_MOBILE_LENGTH = 11
_MOBILE_SECOND_DIGITS = "3456789"
"""Mainland mobile numbers are 1[3-9] and nine more digits; 10, 11 and 12 start short
service numbers (10086, 110, 12345), never a mobile."""

_LOCAL_LENGTHS = range(7, 9)
"""Digits of a landline's local number after its area code."""


def normalise_phone(written: str) -> str:
    """The canonical form of a phone number as people write it; `InvalidInput` otherwise.

    One number written many ways must be one value to search by (the residents' blind
    index). Separators and full-width digits are dropped; a Chinese number written with
    its country code (+86, 0086, or 86 before a mobile number) is kept in its national
    form, a landline's trunk 0 included (+86 10 1234 5678 is 01012345678); any other
    country's number keeps its code after a `+`. Normalising a canonical form gives it back.
    """
    compact = unicodedata.normalize("NFKC", written).translate(_SEPARATORS)
    international, digits = split_international(compact)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(
            f"{written!r} is not a phone number: use digits, with spaces, dashes or a "
            "leading + if you like",
            code="invalid_phone",
        )
    national = national_form(digits, international=international)
    canonical = national if national is not None else "+" + digits
    if not _SHORTEST <= len(canonical.removeprefix("+")) <= _LONGEST:
        raise InvalidInput(
            f"{written!r} is not a phone number: it has {len(digits)} digits",
            code="invalid_phone",
        )
    return canonical


def split_international(compact: str) -> tuple[bool, str]:
    """Whether `compact` (a number without its spaces) starts with an international prefix
    (`+` or `00`), and what follows that prefix.

    No area code starts with 0, so a leading 00 is always the international prefix.
    """
    for prefix in ("+", "00"):
        if compact.startswith(prefix):
            return True, compact[len(prefix) :]
    return False, compact


def national_form(number: str, *, international: bool) -> str | None:
    """A Chinese number in its national form, None for another country's number.

    `number` is what follows the international prefix, if it was written with one
    (`split_international`). Its symbols are kept as they are (a mask's stars stay), so
    callers choose what they accept. A landline written with +86 gets back its trunk 0,
    once: any zeros written after the country code are that same trunk (+86 (0)10 …),
    and a national form starting 00 would read as international.
    """
    if international:
        if not number.startswith(CHINA):
            return None
        national = number[len(CHINA) :]
        return national if is_mobile(national) else TRUNK + national.lstrip(TRUNK)
    # Only a mobile number is written with a bare 86 and no prefix: 86 is no area code.
    if len(number) == len(CHINA) + _MOBILE_LENGTH and number.startswith(CHINA):
        national = number[len(CHINA) :]
        if is_mobile(national):
            return national
    return number


def is_mobile(national: str) -> bool:
    """Whether a national form is a mainland mobile number (1[3-9] and nine more)."""
    return (
        len(national) == _MOBILE_LENGTH
        and national[0] == "1"
        and national[1] in _MOBILE_SECOND_DIGITS
    )


def is_landline(national: str) -> bool:
    """Whether a national form is a landline: the trunk 0, an area code (10, 2x or three
    digits), then a local number of seven or eight digits."""
    return (
        national[:1] == TRUNK
        and national[1:2] != TRUNK
        and len(national) - len(area_code(national)) in _LOCAL_LENGTHS
    )


def area_code(landline: str) -> str:
    """The area code of a landline's national form with its trunk 0: `010` and `02x`
    (the largest cities), otherwise four digits (`0755`)."""
    return landline[: 3 if landline[1:2] in ("1", "2") else 4]
