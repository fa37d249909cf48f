"""What a public view shows of a resident (脱敏): `王*`, `138****0000`, `1号楼*单元****`.

Integrators, dashboards and logs see these masks, never the clear values. Each mask keeps
only what lets a person recognise their own record (a surname, a phone's first three and
last four digits, the part of an address shared by a whole neighbourhood), and each is
idempotent: masking a mask gives it back unchanged, so a value masked twice (once by an
old event, once by a view) reads the same. No input makes a mask fail or show more.
"""

from __future__ import annotations

import re
import unicodedata

from shared.phones import area_code, is_landline, is_mobile, national_form, split_international

HIDDEN = "*"
"""The character that stands for what a mask hides."""

PHONE_HIDDEN = HIDDEN * 4
"""A phone's hidden run: always four stars, so a mask does not tell how long the number is."""

COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "端木",
        "澹台",
        "南宫",
        "西门",
        "独孤",
        "百里",
        "呼延",
        "申屠",
        "太史",
        "闻人",
        "赫连",
        "濮阳",
        "第五",
        "万俟",
    ]
)
"""Two-character surnames (复姓): `欧阳娜娜` shows as `欧阳**`, not `欧***`."""

_WORD_SEPARATORS = re.compile(r"(\s+|[·・•])")
"""Between the words of a name: spaces, and the middle dot of transliterated names."""

_KEPT_MOBILE_HEAD, _KEPT_TAIL = 3, 4


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith("CJK ")


def mask_name(name: str) -> str:
    """A resident's name as a public view shows it: the surname of a Chinese name (`王*`,
    `欧阳**`), the initial of each word of any other (`J* S*`).

    A one-character word is hidden whole, so a mask always hides something.
    """
    parts = _WORD_SEPARATORS.split(unicodedata.normalize("NFC", name).strip())
    masked = []
    for index, part in enumerate(parts):
        if index % 2:
            masked.append(" " if part.isspace() else part)
        elif part:
            masked.append(_mask_word(part))
    return "".join(masked)


def _mask_word(word: str) -> str:
    if len(word) == 1:
        return HIDDEN
    if all(_is_cjk(char) or char == HIDDEN for char in word):
        kept = 2 if word[:2] in COMPOUND_SURNAMES and len(word) > 2 else 1
        return word[:kept] + HIDDEN * (len(word) - kept)
    return word[0] + HIDDEN


def mask_phone(phone: str) -> str:
    """A phone number as a public view shows it.

    A mainland mobile keeps its first three and last four digits (`138****0000`, country
    code dropped); a landline its area code and last four (`010-****5678`); any other
    number of eight digits or more its last four (`****0958`); anything shorter, or no
    number at all, nothing (`****`); an empty value stays empty. Separators and full-width digits do not matter; a
    star in the input counts as a digit already hidden.
    """
    symbols = _phone_symbols(phone)
    if not symbols:
        return PHONE_HIDDEN if phone.strip() else ""
    if is_mobile(symbols):
        return symbols[:_KEPT_MOBILE_HEAD] + PHONE_HIDDEN + symbols[-_KEPT_TAIL:]
    if is_landline(symbols):
        return area_code(symbols) + "-" + PHONE_HIDDEN + symbols[-_KEPT_TAIL:]
    if len(symbols) >= 2 * _KEPT_TAIL:
        return PHONE_HIDDEN + symbols[-_KEPT_TAIL:]
    return PHONE_HIDDEN


def _phone_symbols(phone: str) -> str:
    """The digits (and already-hidden stars) of `phone` in its national form if Chinese."""
    international, number = split_international(unicodedata.normalize("NFKC", phone).strip())
    symbols = "".join(c for c in number if (c.isascii() and c.isdigit()) or c == HIDDEN)
    national = national_form(symbols, international=international)
    return symbols if national is None else national


def mask_address(address: str) -> str:
    """An address or a unit as a public view shows it: everything before the first digit
    (city, district, estate: shared by many households) stays, and every digit or Latin
    letter from there on is hidden (`阳光花园1号楼2单元1202` → `阳光花园*号楼*单元****`,
    `1-101` → `*-***`). Full-width digits count as digits.
    """
    text = unicodedata.normalize("NFKC", address).strip()
    first = next((i for i, c in enumerate(text) if c.isdigit()), len(text))
    tail = "".join(
        HIDDEN if c.isdigit() or (c.isascii() and c.isalpha()) else c for c in text[first:]
    )
    return text[:first] + tail
