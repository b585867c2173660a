"""GB 11643 resident ID numbers: the pure rules in app.identity.idnumber.

Check characters are computed with the weights
    7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2   (positions 1..17)
S = sum(digit_i * weight_i); S mod 11 -> check character via
    0->1  1->0  2->X  3->9  4->8  5->7  6->6  7->5  8->4  9->3  10->2
"""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from app.identity.idnumber import IdNumberError, mask, mask_name, parse, with_check_digit

TODAY = date(2026, 11, 23)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"


def by_hand(first17: str) -> str:
    """The check character, independently of python-stdnum (used to cross-check the rows)."""
    return CHECK_MAP[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


# --------------------------------------------------------------------------------------------
# Valid numbers
# --------------------------------------------------------------------------------------------
VALID = [
    pytest.param(
        # 3*7+6*9+0*10+7*5+0*8+2*4+1*2+9*1+8*6+5*3+0*7+3*9+1*10+2*5+0*8+1*4+1*2
        # = 21+54+0+35+0+8+2+9+48+15+0+27+10+10+0+4+2 = 245; 245 mod 11 = 3 -> '9'
        "360702198503120119",
        "360702198503120119",
        date(1985, 3, 12),
        "1",
        "360702",
        id="zhang-wei-check-9",
    ),
    pytest.param(
        # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2
        # = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2 -> 'X'
        "11010519491231002X",
        "11010519491231002X",
        date(1949, 12, 31),
        "2",
        "110105",
        id="check-X-uppercase",
    ),
    pytest.param(
        "11010519491231002x",
        "11010519491231002X",
        date(1949, 12, 31),
        "2",
        "110105",
        id="check-x-lowercase-normalised",
    ),
    pytest.param(
        "  360702 1985 0312 0119 ",
        "360702198503120119",
        date(1985, 3, 12),
        "1",
        "360702",
        id="spaces-stripped",
    ),
    pytest.param(
        # Born 1990 in 360702 (章贡区, an area code created after 1990): a real person.
        # 3*7+6*9+0+7*5+0+2*4+1*2+9*1+9*6+0*3+0*7+1*9+0*10+1*5+0*8+0*4+1*2
        # = 21+54+0+35+0+8+2+9+54+0+0+9+0+5+0+0+2 = 199; 199 mod 11 = 1 -> '0'
        "360702199001010010",
        "360702199001010010",
        date(1990, 1, 1),
        "1",
        "360702",
        id="born-1990-area-created-later",
    ),
    pytest.param(
        # 张建国 in the demo registry, check X; 17th digit 7 is odd -> male
        "36070319421105017X",
        "36070319421105017X",
        date(1942, 11, 5),
        "1",
        "360703",
        id="demo-father-check-X",
    ),
    pytest.param(
        with_check_digit("36070220261123002"),
        with_check_digit("36070220261123002"),
        date(2026, 11, 23),
        "2",
        "360702",
        id="born-today",
    ),
    pytest.param(
        with_check_digit("11010518800101001"),
        with_check_digit("11010518800101001"),
        date(1880, 1, 1),
        "1",
        "110105",
        id="earliest-birth-1880-01-01",
    ),
    pytest.param(
        with_check_digit("36070220000229004"),
        with_check_digit("36070220000229004"),
        date(2000, 2, 29),
        "2",
        "360702",
        id="leap-day-2000",
    ),
]


@pytest.mark.parametrize(("raw", "value", "birth", "gender", "area"), VALID)
def test_valid_numbers_parse(raw, value, birth, gender, area):
    parsed = parse(raw, today=TODAY)
    assert parsed.value == value
    assert parsed.birth_date == birth
    assert parsed.gender == gender
    assert parsed.area_code == area
    assert value[17] == by_hand(value[:17])


def test_stdnum_validate_would_reject_the_1990_person_but_parse_accepts():
    """Why parse() does not call ric.validate (DOMAIN.md): it rejects a real person."""
    with pytest.raises(ValidationError):
        ric.validate("360702199001010010")
    assert parse("360702199001010010", today=TODAY).value == "360702199001010010"


# --------------------------------------------------------------------------------------------
# Invalid numbers
# --------------------------------------------------------------------------------------------
INVALID = [
    pytest.param("36070219850312011", "id_number_length", id="17-chars"),
    pytest.param("3607021985031201190", "id_number_length", id="19-chars"),
    pytest.param("", "id_number_length", id="empty"),
    pytest.param("   ", "id_number_length", id="only-spaces"),
    pytest.param("3607021985031201A9", "id_number_format", id="letter-inside"),
    pytest.param("36070219850312X119", "id_number_format", id="X-not-last"),
    pytest.param("36070219850312011Y", "id_number_format", id="Y-as-check"),
    pytest.param("36070219850312011-", "id_number_format", id="punctuation"),
    # 245 mod 11 = 3 -> '9' is right, so 8 and X are wrong
    pytest.param("360702198503120118", "id_number_checksum", id="check-8-should-be-9"),
    pytest.param("36070219850312011X", "id_number_checksum", id="check-X-should-be-9"),
    # 167 mod 11 = 2 -> 'X' is right, so 0 is wrong
    pytest.param("110105194912310020", "id_number_checksum", id="check-0-should-be-X"),
    pytest.param(with_check_digit("36070219900230001"), "id_number_birth_date", id="feb-30"),
    pytest.param(with_check_digit("36070219901301001"), "id_number_birth_date", id="month-13"),
    pytest.param(with_check_digit("36070219900100001"), "id_number_birth_date", id="day-00"),
    pytest.param(
        with_check_digit("36070220250229001"), "id_number_birth_date", id="feb-29-non-leap"
    ),
    pytest.param(with_check_digit("36070219000229001"), "id_number_birth_date", id="feb-29-1900"),
    pytest.param(with_check_digit("36070220261124001"), "id_number_birth_future", id="tomorrow"),
    pytest.param(with_check_digit("36070230000101001"), "id_number_birth_future", id="year-3000"),
    pytest.param(with_check_digit("36070218791231001"), "id_number_birth_date", id="before-1880"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID)
def test_invalid_numbers_are_rejected_with_a_stable_code(raw, code):
    with pytest.raises(IdNumberError) as caught:
        parse(raw, today=TODAY)
    assert caught.value.code == code
    # every message is a Chinese sentence for the person holding the phone
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)


def test_non_string_is_a_format_error():
    with pytest.raises(IdNumberError) as caught:
        parse(360702198503120119, today=TODAY)  # type: ignore[arg-type]
    assert caught.value.code == "id_number_format"


def test_birth_date_is_checked_against_the_given_today():
    number = with_check_digit("36070220261124001")
    with pytest.raises(IdNumberError):
        parse(number, today=date(2026, 11, 23))
    assert parse(number, today=date(2026, 11, 24)).birth_date == date(2026, 11, 24)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("３６０７０３１９４２１１０５０１７X", id="full-width-digits"),
        pytest.param("٣٦٠٧٠٣١٩٤٢١١٠٥٠١٧X", id="arabic-indic-digits"),
    ],
)
def test_non_ascii_digits_are_never_returned_as_a_value(raw):
    try:
        value = parse(raw, today=TODAY).value
    except IdNumberError:
        return  # rejecting is acceptable
    assert value == "36070319421105017X"  # normalising to ASCII is acceptable


# --------------------------------------------------------------------------------------------
# Gender and age
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seventeenth", "gender"),
    [pytest.param(d, "1" if d % 2 else "2", id=f"digit-{d}") for d in range(10)],
)
def test_gender_comes_from_the_17th_digit(seventeenth, gender):
    number = with_check_digit(f"3607021985031201{seventeenth}")
    assert parse(number, today=TODAY).gender == gender


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        pytest.param("20121124", date(2026, 11, 23), 13, id="day-before-14th-birthday"),
        pytest.param("20121124", date(2026, 11, 24), 14, id="on-14th-birthday"),
        pytest.param("20121123", date(2026, 11, 23), 14, id="14th-birthday-today"),
        pytest.param("19851231", date(2026, 12, 30), 40, id="day-before-at-year-end"),
        pytest.param("19851231", date(2026, 12, 31), 41, id="on-birthday-at-year-end"),
        pytest.param("19860101", date(2026, 12, 31), 40, id="new-year-baby-end-of-year"),
        # born on 29 Feb: the birthday counts as reached on 1 March in a common year
        pytest.param("20080229", date(2026, 2, 28), 17, id="leap-birthday-feb-28"),
        pytest.param("20080229", date(2026, 3, 1), 18, id="leap-birthday-mar-1"),
        pytest.param("20080229", date(2028, 2, 29), 20, id="leap-birthday-in-leap-year"),
        pytest.param("20261123", date(2026, 11, 23), 0, id="newborn"),
    ],
)
def test_age_on(born, on, age):
    parsed = parse(with_check_digit(f"360702{born}001"), today=TODAY)
    assert parsed.age_on(on) == age


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        pytest.param("360702198503120119", "3607**********0119", id="18-chars"),
        pytest.param("11010519491231002X", "1101**********002X", id="check-X-kept"),
        pytest.param("123456789", "1234*6789", id="9-chars"),
        pytest.param("12345678", "********", id="8-chars-all-hidden"),
        pytest.param("1234", "****", id="4-chars-all-hidden"),
        pytest.param("", "", id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_mask(raw, masked):
    assert mask(raw) == masked
    if raw and len(raw) == 18:
        assert raw[4:14] not in mask(raw)  # the birth date never survives


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        pytest.param("李", "*", id="one-char"),
        pytest.param("张三", "*三", id="two-chars"),
        pytest.param("张小宝", "**宝", id="three-chars"),
        pytest.param("欧阳娜娜", "**娜娜", id="four-chars"),
        pytest.param("阿卜杜拉·买买提", "******买提", id="long-with-dot"),
        pytest.param("", "", id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


# --------------------------------------------------------------------------------------------
# Property: with_check_digit always produces a number parse() accepts; any other check
# character is refused as a checksum error.
# --------------------------------------------------------------------------------------------
BIRTH_DATES = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
AREAS = st.text(alphabet=string.digits, min_size=6, max_size=6)
SEQS = st.text(alphabet=string.digits, min_size=3, max_size=3)
CHECK_CHARS = "0123456789X"


@settings(max_examples=200, deadline=None)
@given(area=AREAS, born=BIRTH_DATES, seq=SEQS, other=st.sampled_from(CHECK_CHARS))
def test_property_check_digit_round_trip(area, born, seq, other):
    first17 = f"{area}{born:%Y%m%d}{seq}"
    number = with_check_digit(first17)
    assert number[17] == by_hand(first17)
    parsed = parse(number, today=TODAY)
    assert parsed.value == number
    assert parsed.birth_date == born
    assume(other != number[17])
    with pytest.raises(IdNumberError) as caught:
        parse(first17 + other, today=TODAY)
    assert caught.value.code == "id_number_checksum"
