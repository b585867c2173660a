"""Resident identity numbers (GB 11643-1999): pure rules, no Flask, no database.

17 digits + a check character (ISO 7064 mod 11-2, 'X' for 10); digits 7-14 are the birth date.
The check character comes from python-stdnum; its `validate()` is not used because it rejects
real people whose area code was created after their birth year and accepts future birth dates
(see LIBRARY-NOTES.md). The area code is information only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import overload

from stdnum.cn import ric

_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
EARLIEST_BIRTH = date(1880, 1, 1)


class IdNumberError(ValueError):
    """An ID number that cannot be right. `code` is stable, `message` is for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    gender: str  # "1" male, "2" female (the bureau's gend codes)
    area_code: str

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def normalise(raw: str) -> str:
    """NFKC folds full-width digits and letters to ASCII (一个人只有一个号码); all white space goes."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


def parse(raw: str, *, today: date) -> IdNumber:
    """Validate and parse; raise IdNumberError with a Chinese message for each failure."""
    if not isinstance(raw, str):
        raise IdNumberError("id_number_format", "身份证号码应为18位")
    number = normalise(raw)
    if len(number) != 18:
        raise IdNumberError("id_number_length", "身份证号码应为18位")
    if not _SHAPE.match(number):
        raise IdNumberError("id_number_format", "身份证号码前17位应为数字，最后一位为数字或X")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError("id_number_birth_date", "身份证号码中的出生日期不存在") from None
    if birth > today:
        raise IdNumberError("id_number_birth_future", "身份证号码中的出生日期晚于今天")
    if birth < EARLIEST_BIRTH:
        raise IdNumberError("id_number_birth_date", "身份证号码中的出生日期不合理")
    if ric.calc_check_digit(number) != number[17]:
        raise IdNumberError("id_number_checksum", "身份证号码校验位不正确，请核对后重新输入")
    gender = "1" if int(number[16]) % 2 == 1 else "2"
    return IdNumber(value=number, birth_date=birth, gender=gender, area_code=number[:6])


def with_check_digit(first17: str) -> str:
    """Complete 17 digits with their check character (demo data, tests)."""
    return first17 + ric.calc_check_digit(first17 + "0")


@overload
def mask(number: str) -> str: ...
@overload
def mask(number: None) -> None: ...
def mask(number: str | None) -> str | None:
    """`360702199001010018` -> `3607**********0018`: the first 4 and last 4 characters kept."""
    if not number:
        return number
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


@overload
def mask_name(name: str) -> str: ...
@overload
def mask_name(name: None) -> None: ...
def mask_name(name: str | None) -> str | None:
    """`张三` -> `*三`, `欧阳娜娜` -> `**娜娜`... keep the last character only for short names."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    if len(name) <= 3:
        return "*" * (len(name) - 1) + name[-1]
    return "*" * (len(name) - 2) + name[-2:]
