"""One number is one canonical form, however it is written, and the form is a fixed point."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidInput
from shared.phones import (
    area_code,
    is_landline,
    is_mobile,
    national_form,
    normalise_phone,
    split_international,
)
from shared.privacy.masking import mask_phone

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
landlines = st.tuples(
    st.from_regex(r"\A(10|2[0-9]|[3-9][0-9]{2})\Z"), st.from_regex(r"\A[1-9][0-9]{6,7}\Z")
)
foreign = st.tuples(
    st.from_regex(r"\A[1-7][0-9]{0,2}\Z").filter(lambda code: not code.startswith("86")),
    st.from_regex(r"\A[0-9]{6,10}\Z"),
)
written_numbers = st.one_of(
    st.from_regex(r"\A(\+|00)?[0-9]{5,15}\Z"),
    st.from_regex(r"\A(\+86 ?|0086|86)?1[3-9][0-9]{9}\Z"),
    st.from_regex(r"\A(\+86 ?(\(0\))?|0)[1-9][0-9]{1,2}-?[0-9]{7,8}\Z"),
    st.text(alphabet="0123456789+-() ０１２３", min_size=5, max_size=20),
)


def _spaced(digits: str, every: int, separator: str) -> str:
    return separator.join(digits[i : i + every] for i in range(0, len(digits), every))


@given(written_numbers)
def test_the_canonical_form_of_a_canonical_form_is_itself(written: str) -> None:
    try:
        canonical = normalise_phone(written)
    except InvalidInput as refused:
        assert refused.code == "invalid_phone"
        return

    assert normalise_phone(canonical) == canonical


@given(mobiles, st.sampled_from([" ", "-", ".", ""]), st.booleans())
def test_every_way_of_writing_a_mobile_number_is_one_number(
    mobile: str, separator: str, full_width: bool
) -> None:
    spaced = _spaced(mobile, 4, separator)
    variants = [mobile, spaced, f"+86 {spaced}", f"+86-{mobile}", f"0086{separator}{spaced}"]
    variants += [f"86{mobile}", f"(+86) {spaced}"]
    if full_width:
        variants = [v.translate(FULL_WIDTH) for v in variants]

    assert {normalise_phone(v) for v in variants} == {mobile}
    assert {mask_phone(v) for v in variants} == {mobile[:3] + "****" + mobile[-4:]}


@given(landlines)
def test_every_way_of_writing_a_landline_is_one_number(landline: tuple[str, str]) -> None:
    area, local = landline
    variants = [f"0{area}{local}", f"0{area}-{local}", f"(0{area}) {local}"]
    variants += [f"+86 {area} {local}", f"+86 (0){area} {local}", f"0086-{area}-{local}"]

    assert {normalise_phone(v) for v in variants} == {f"0{area}{local}"}
    assert is_landline(f"0{area}{local}")
    assert area_code(f"0{area}{local}") == f"0{area}"


@given(foreign)
def test_another_countrys_number_keeps_its_code_after_a_plus(number: tuple[str, str]) -> None:
    code, rest = number
    variants = [f"+{code} {rest}", f"00{code} {rest}", f"+{code}-{rest}".translate(FULL_WIDTH)]

    assert {normalise_phone(v) for v in variants} == {f"+{code}{rest}"}


@pytest.mark.parametrize("head", ["13", "14", "15", "16", "17", "18", "19"])
def test_a_mainland_mobile_starts_with_1_and_3_to_9(head: str) -> None:
    assert is_mobile(head + "000000000")


@pytest.mark.parametrize("national", ["10012345678", "11012345678", "12012345678", "1380000000"])
def test_numbers_starting_10_to_12_or_of_another_length_are_no_mobile(national: str) -> None:
    assert not is_mobile(national)


def test_a_bare_86_is_a_country_code_only_before_a_mobile_number() -> None:
    assert normalise_phone("8613800000000") == "13800000000"
    assert normalise_phone("8612012345678") == "8612012345678"
    assert normalise_phone("86755 8765 4321") == "8675587654321"


def test_zeros_after_plus_86_are_the_one_trunk_zero() -> None:
    # A national form starting 00 would read as international when normalised again.
    assert normalise_phone("+86 00 10 1234 5678") == "01012345678"
    assert normalise_phone("0086 0 755 8765 4321") == "075587654321"


def test_a_masks_stars_are_kept_for_the_mask_to_read() -> None:
    international, number = split_international("+86 138****0000".replace(" ", ""))

    assert international
    assert national_form(number, international=international) == "138****0000"
    assert national_form("44123", international=True) is None


@pytest.mark.parametrize(
    ("national", "area"), [("01012345678", "010"), ("02162345678", "021"), ("075587654321", "0755")]
)
def test_the_area_code_is_three_digits_for_the_largest_cities_and_four_elsewhere(
    national: str, area: str
) -> None:
    assert area_code(national) == area


@pytest.mark.parametrize("national", ["0012345678", "010123456", "13800000000", "95598"])
def test_a_landline_has_the_trunk_zero_an_area_code_and_seven_or_eight_digits(
    national: str,
) -> None:
    assert not is_landline(national)
