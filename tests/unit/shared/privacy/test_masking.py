"""Masks show what lets a resident recognise their record, never more, and are idempotent."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shared.privacy.masking import HIDDEN, mask_address, mask_name, mask_phone

phones = st.one_of(
    st.text(),
    st.text(alphabet="0123456789+-() *０１２３４５６７８９", max_size=30),
    st.from_regex(r"\A(\+86 ?|0086|86)?1[3-9][0-9]{9}\Z"),
    st.from_regex(r"\A0[1-9][0-9]{1,2}-?[0-9]{7,8}\Z"),
)
names = st.one_of(
    st.text(),
    st.text(alphabet="王李张欧阳司马小明娜* ·", max_size=12),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC -*", max_size=30),
)


def _clear_digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王五", "王*"),
        ("王小明", "王**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳", "欧*"),
        ("王", "*"),
        ("John Smith", "J* S*"),
        ("  Alice  ", "A*"),
        ("", ""),
    ],
)
def test_a_name_shows_its_surname_or_initials(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800000000", "138****0000"),
        ("+86 138 0000 0000", "138****0000"),
        ("0086-139-1234-5678", "139****5678"),
        ("８６１３９１２３４５６７８", "139****5678"),
        ("010-12345678", "010-****5678"),
        ("+86 10 1234 5678", "010-****5678"),
        ("0755 8765 4321", "0755-****4321"),
        ("+44 20 7946 0958", "****0958"),
        ("95598", "****"),
        ("not a number", "****"),
        ("", ""),
    ],
)
def test_a_phone_shows_its_head_and_last_four_digits_at_most(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("阳光花园1号楼2单元1202", "阳光花园*号楼*单元****"),
        ("1-101", "*-***"),
        ("１号楼３０２", "*号楼***"),
        ("Block A 12B", "Block A ***"),
    ],
)
def test_an_address_keeps_only_what_comes_before_its_first_number(
    address: str, masked: str
) -> None:
    assert mask_address(address) == masked


@given(phones)
def test_a_phone_mask_never_shows_more_than_eight_digits_nor_more_than_it_was_given(
    phone: str,
) -> None:
    masked = mask_phone(phone)

    assert _clear_digits(masked) <= 8
    assert _clear_digits(masked) <= _clear_digits(phone)
    assert set(masked) <= set("0123456789-*")


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_a_mobile_mask_hides_exactly_the_middle_four_digits(mobile: str) -> None:
    assert mask_phone(mobile) == mobile[:3] + "****" + mobile[-4:]


@given(phones)
def test_masking_a_masked_phone_changes_nothing(phone: str) -> None:
    assert mask_phone(mask_phone(phone)) == mask_phone(phone)


@given(names)
@example("•")  # a name of one separator: no word at all
@example("0*•")
def test_a_name_mask_shows_at_most_two_characters_a_word(name: str) -> None:
    masked = mask_name(name)
    # Split where `mask_name` splits: spaces and every middle dot it knows (·, ・, •).
    words = [w for w in re.split(r"[\s·・•]+", masked) if w]

    for word in words:
        assert len(word.strip(HIDDEN)) <= 2
        assert word.count(HIDDEN) >= 1
    assert len(masked.replace(" ", "")) <= len(name.replace(" ", ""))


@given(names)
def test_masking_a_masked_name_changes_nothing(name: str) -> None:
    assert mask_name(mask_name(name)) == mask_name(name)


@given(st.text())
def test_an_address_mask_shows_no_digit(address: str) -> None:
    masked = mask_address(address)

    assert _clear_digits(masked) == 0
    assert mask_address(masked) == masked
