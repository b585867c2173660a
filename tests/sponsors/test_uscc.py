"""统一社会信用代码 (GB 32100-2015): the pure rules in app.sponsors.rules.

Character values: 0-9 -> 0-9, then A10 B11 C12 D13 E14 F15 G16 H17 J18 K19 L20 M21 N22 P23 Q24
R25 T26 U27 W28 X29 Y30 (no I, O, S, V, Z). Weights for positions 1..17:
    1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
S = sum(value_i x weight_i); check = 31 - (S mod 31), 31 -> 0; the check is the character of
that value. Each row's comment lists the non-zero products.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from app.sponsors.rules import (
    REGISTRATION_AUTHORITIES,
    USCC_ALPHABET,
    Uscc,
    UsccError,
    parse_uscc,
    uscc_check_char,
)

WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
VALUES = {c: i for i, c in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY")}


def by_hand(first17: str) -> str:
    """The check character, independently of the module and python-stdnum."""
    remainder = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS)) % 31
    return "0123456789ABCDEFGHJKLMNPQRTUWXY"[(31 - remainder) % 31]


# --------------------------------------------------------------------------------------------
# Valid codes: raw, normalised, authority, category, charity-like
# --------------------------------------------------------------------------------------------
VALID = [
    pytest.param(
        # python-stdnum's own example. 9*1+1*3+1*9+1*27+6*20+3*8+7*24+3*10+4*30+1*28 = 538;
        # 538 mod 31 = 11; 31-11 = 20 -> L
        "91110000600037341L",
        "91110000600037341L",
        "工商",
        "企业",
        False,
        id="enterprise-91-check-L",
    ),
    pytest.param(
        # 9+3+27+162+182+34+420(M21*20)+290(A10*29)+75+104+80+264+120+390+112 = 2272;
        # 2272 mod 31 = 9; 31-9 = 22 -> N
        "91360702MA38ABCD4N",
        "91360702MA38ABCD4N",
        "工商",
        "企业",
        False,
        id="ganzhou-enterprise-MA",
    ),
    pytest.param(
        # 赣州 city-level 社会团体 (a 慈善总会 is one): 5+3+27+162+182+100+225+104+56+144+50+120+84
        # = 1262; 1262 mod 31 = 22; 31-22 = 9 -> '9'
        "513607005098765439",
        "513607005098765439",
        "民政",
        "社会团体",
        True,
        id="charity-federation-51",
    ),
    pytest.param(
        # national foundation: 5+9+9+100+8+48+30+120+140 = 469; 469 mod 31 = 4; 31-4 = 27 -> U
        "53100000500012345U",
        "53100000500012345U",
        "民政",
        "基金会",
        True,
        id="foundation-53-check-U",
    ),
    pytest.param(
        # 5+6+27+162+182+34+420+522(J18*29)+25+26+24+96+50+180+196 = 1955; mod 31 = 2;
        # 31-2 = 29 -> X
        "52360702MJ1234567X",
        "52360702MJ1234567X",
        "民政",
        "民办非企业单位",
        True,
        id="private-non-enterprise-52",
    ),
    pytest.param(
        # the city's 医疗保障局: 1+3+27+162+182+420+319(B11*29)+25+26+24+96+50+180+196 = 1711;
        # mod 31 = 6; 31-6 = 25 -> R
        "11360700MB1234567R",
        "11360700MB1234567R",
        "机构编制",
        "机关",
        False,
        id="government-body-11",
    ),
    pytest.param(
        # 1+6+27+162+182+34+80+261+25+26+24+96+50+180+196 = 1350; mod 31 = 17; 31-17 = 14 -> E
        "12360702491234567E",
        "12360702491234567E",
        "机构编制",
        "事业单位",
        False,
        id="public-institution-12",
    ),
    pytest.param(
        # A=10: 10+3+9+420+290+28 = 760; mod 31 = 16; 31-16 = 15 -> F
        "A1100000MA0000001F",
        "A1100000MA0000001F",
        "中央军委改革和编制办公室",
        "军队事业单位",
        False,
        id="A-prefix-military-institution",
    ),
    pytest.param(
        # N=22: 22+6+27+162+182+34+420+435(F15*29)+25+26+24+96+50+180+196 = 1885; mod 31 = 25;
        # 31-25 = 6 -> '6'
        "N2360702MF12345676",
        "N2360702MF12345676",
        "农业",
        "村级集体经济组织",
        False,
        id="N-prefix-village-collective",
    ),
    pytest.param(
        # Y=30: 30+3+27+162+182+34+420+348(C12*29)+28 = 1234; mod 31 = 25; 31-25 = 6 -> '6'
        "Y1360702MC00000016",
        "Y1360702MC00000016",
        "其他",
        "其他",
        False,
        id="Y-prefix-other",
    ),
    pytest.param(
        # 8+3+27+162+182+34+420+348+25+26+24+96+50+180+196 = 1781; mod 31 = 14; 31-14 = 17 -> H
        "81360702MC1234567H",
        "81360702MC1234567H",
        "工会",
        "基层工会",
        False,
        id="trade-union-81",
    ),
    pytest.param(
        # 9+6+27+162+182+34+420+290+75+130+88+288+10+60+84 = 1865; mod 31 = 5; 31-5 = 26 -> T
        "92360702MA3ABC123T",
        "92360702MA3ABC123T",
        "工商",
        "个体工商户",
        False,
        id="individual-business-92",
    ),
    pytest.param(
        # 5+9+27+162+182+420+522+10+60+308(B11*28) = 1705 = 55*31: mod 31 = 0; 31-0 = 31 -> '0'
        "53360700MJ000012B0",
        "53360700MJ000012B0",
        "民政",
        "基金会",
        True,
        id="remainder-0-check-0",
    ),
    pytest.param(
        # 5+9+27+162+182+420+522+10+60+588(M21*28) = 1985; mod 31 = 1; 31-1 = 30 -> Y
        "53360700MJ000012MY",
        "53360700MJ000012MY",
        "民政",
        "基金会",
        True,
        id="remainder-1-check-Y",
    ),
    pytest.param(
        "91360702ma38abcd4n",
        "91360702MA38ABCD4N",
        "工商",
        "企业",
        False,
        id="lower-case-normalised",
    ),
    pytest.param(
        # full-width digits and letters, as typed on a Chinese keyboard, plus an ideographic space
        "\uff19\uff11\uff13\uff16\uff10\uff17\uff10\uff12\uff2d\uff21\uff13\uff18\uff21\uff22"
        "\uff23\uff24\uff14\uff2e\u3000",
        "91360702MA38ABCD4N",
        "工商",
        "企业",
        False,
        id="full-width-normalised",
    ),
    pytest.param(
        " 9136 0702 MA38 ABCD 4N\n",
        "91360702MA38ABCD4N",
        "工商",
        "企业",
        False,
        id="white-space-removed",
    ),
]


@pytest.mark.parametrize("raw, value, authority, category, charity", VALID)
def test_valid_codes(raw, value, authority, category, charity):
    code = parse_uscc(raw)
    assert code == Uscc(value)
    assert code.authority_name == authority
    assert code.category_name == category
    assert code.is_charity_like is charity
    assert code.check_char == by_hand(value[:17]) == uscc_check_char(value[:17])
    assert code.region_code == value[2:8]
    assert code.organisation_code == value[8:17]


def test_stdnum_rejects_the_prefixes_we_accept():
    """Why the module does not call stdnum's validate (LIBRARY-NOTES.md)."""
    for value in ("A1100000MA0000001F", "N2360702MF12345676", "Y1360702MC00000016"):
        assert not stdnum_uscc.is_valid(value)
        assert parse_uscc(value).value == value


# --------------------------------------------------------------------------------------------
# Invalid codes: raw, error code
# --------------------------------------------------------------------------------------------
INVALID = [
    pytest.param("", "uscc_length", id="empty"),
    pytest.param("91110000600037341", "uscc_length", id="17-characters"),
    pytest.param("91110000600037341L0", "uscc_length", id="19-characters"),
    pytest.param(None, "uscc_format", id="not-a-string"),
    pytest.param("9111000060003734IL", "uscc_character", id="letter-I"),
    pytest.param("9111000060003734OL", "uscc_character", id="letter-O"),
    pytest.param("9111000060003734ZL", "uscc_character", id="letter-Z"),
    pytest.param("9111000060003734SL", "uscc_character", id="letter-S"),
    pytest.param("9111000060003734VL", "uscc_character", id="letter-V"),
    pytest.param("91110000-60003734L", "uscc_character", id="hyphen"),
    pytest.param("91110000６０００３７３４１", "uscc_length", id="full-width-17-after-nfkc"),
    pytest.param("01110000600037341L", "uscc_authority", id="authority-0-unknown"),
    pytest.param("B1110000600037341L", "uscc_authority", id="authority-B-unknown"),
    pytest.param("94110000600037341L", "uscc_category", id="gongshang-has-no-category-4"),
    pytest.param("99110000600037341L", "uscc_category", id="gongshang-has-no-category-9"),
    pytest.param("Y2360702MC00000016", "uscc_category", id="Y-only-category-1"),
    pytest.param("A2100000MA0000001F", "uscc_category", id="A-has-no-category-2"),
    pytest.param("N4360702MF12345676", "uscc_category", id="N-has-no-category-4"),
    pytest.param("5A360700509876543A", "uscc_category", id="category-letter"),
    pytest.param("91A10000600037341L", "uscc_region", id="region-with-letter"),
    pytest.param("91110000600037341K", "uscc_checksum", id="check-L-typed-K"),
    pytest.param("91110000600037314L", "uscc_checksum", id="two-digits-swapped"),
    pytest.param("53360700MJ000012BY", "uscc_checksum", id="remainder-0-but-Y"),
]


@pytest.mark.parametrize("raw, code", INVALID)
def test_invalid_codes(raw, code):
    with pytest.raises(UsccError) as caught:
        parse_uscc(raw)
    assert caught.value.code == code
    assert "统一社会信用代码" in caught.value.message


def test_character_error_names_the_characters():
    with pytest.raises(UsccError) as caught:
        parse_uscc("9111000060003734IO")
    assert "I" in caught.value.message and "O" in caught.value.message


@pytest.mark.parametrize("first17", ["9111000060003734", "9111000060003734IL", "911100006000373I4"])
def test_check_char_needs_17_alphabet_characters(first17):
    with pytest.raises(UsccError):
        uscc_check_char(first17)


def test_table_is_the_published_one():
    combos = {a + c for a, (_, cats) in REGISTRATION_AUTHORITIES.items() for c in cats}
    assert combos == {
        "11",
        "12",
        "13",
        "19",
        "21",
        "29",
        "31",
        "32",
        "33",
        "34",
        "35",
        "39",
        "41",
        "49",
        "51",
        "52",
        "53",
        "59",
        "61",
        "62",
        "69",
        "71",
        "72",
        "79",
        "81",
        "89",
        "91",
        "92",
        "93",
        "A1",
        "A9",
        "N1",
        "N2",
        "N3",
        "N9",
        "Y1",
    }
    assert set("".join(combos)) <= set(USCC_ALPHABET)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
COMBOS = sorted(a + c for a, (_, cats) in REGISTRATION_AUTHORITIES.items() for c in cats)
bodies = st.tuples(
    st.sampled_from(COMBOS),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
).map("".join)


@given(bodies)
def test_any_well_formed_body_with_its_check_char_parses(first17):
    assert uscc_check_char(first17) == by_hand(first17)
    assert parse_uscc(first17 + by_hand(first17)).value == first17 + by_hand(first17)


@given(bodies, st.integers(0, 17), st.integers(1, 30))
def test_every_single_character_substitution_is_rejected(first17, position, shift):
    """31 is prime and no weight is a multiple of it, so any one changed character changes the
    sum mod 31: the check catches it (or an earlier structural check does)."""
    value = first17 + by_hand(first17)
    changed_char = USCC_ALPHABET[(USCC_ALPHABET.index(value[position]) + shift) % 31]
    changed = value[:position] + changed_char + value[position + 1 :]
    with pytest.raises(UsccError):
        parse_uscc(changed)
