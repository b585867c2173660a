"""Catalogue sheet cells: text, codes (医保编码, 国药准字), yuan, quantities, yes/no and lists, read
leniently the way published lists write them. Pure; used by app.catalogues.rules."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_TEXT = 500  # longest name / note / indication accepted from one cell

# --- cells ----------------------------------------------------------------------------------------


def clean_text(value: object) -> str:
    """A cell as text: NFKC (full-width letters, digits and brackets become ASCII), ideographic
    spaces and surrounding whitespace removed. None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def normalise_code(value: str) -> str:
    """The lookup form of a list code or approval number: NFKC, no whitespace, upper case.
    Lines and catalogue entries are both compared in this form."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    return text.upper()


def header_key(value: object) -> str:
    """A header cell in comparable form: '限价（元）*' -> '限价', 'Med_List_Codg' -> 'med_list_codg'."""
    text = clean_text(value)
    text = re.sub(r"\(.*?\)", "", text)  # units in brackets: (元), (是/否)
    text = re.sub(r"[\s*:：]", "", text)
    return text.lower()


_YUAN_SIGNS = re.compile(r"^[¥￥]|元$")


def yuan_to_fen(value: object) -> int | None:
    """A yuan cell -> integer fen, Decimal ROUND_HALF_UP to the fen; "" / None -> None.

    Accepts 12, 12.5, "1,234.56", "¥12", "12元", Decimal. Raises ValueError on anything else,
    negative amounts included. Floats from a spreadsheet go through their shortest repr (12.35
    stays 12.35, not 12.3499999...)."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise ValueError("not an amount")
    if isinstance(value, float):
        value = repr(value)
    text = _YUAN_SIGNS.sub("", clean_text(value)).replace(",", "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("not a non-negative amount")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_quantity(value: object) -> Decimal | None:
    """A quantity limit cell -> a positive Decimal ("2", 0.5, "10支" -> 10); "" / None -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not a quantity")
    if isinstance(value, float):
        value = repr(value)
    text = clean_text(value)
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[^\d.]{0,4}", text)  # a count with an optional unit
    if not match:
        raise ValueError("not a quantity")
    quantity = Decimal(match.group(1))
    if quantity <= 0:
        raise ValueError("not positive")
    return quantity


_YES = {"是", "需要", "需", "y", "yes", "true", "1", "√"}
_NO = {"否", "不需要", "无需", "不需", "n", "no", "false", "0", "×"}


def parse_yes_no(value: object) -> bool:
    text = clean_text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError("not yes/no")


def split_list(value: object, separators: str) -> tuple[str, ...]:
    """A cell holding several values -> its non-empty parts, stripped, in order, each once."""
    text = clean_text(value)
    parts = re.split(f"[{re.escape(separators)}\\n\\r]", text)
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


# --- code shapes ----------------------------------------------------------------------------------

# The national list codes (医保编码) the bureau keys items by. Checked loosely: the prefix letter
# and the length the national dictionaries use, so a name pasted into the code column, a code
# cut short or a service code whose leading zeros a spreadsheet dropped is caught, while local
# codes (hospital preparations, local service items) of a sane shape still pass.
CODE_KINDS = {
    "X": ("西药", (23,)),
    "Z": ("中成药", (20, 23)),
    "C": ("医用耗材", (20, 27)),
    "T": ("中药饮片", None),
}
_CODE_CHARS = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{7,39}$")
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E\+?\d+$")


def code_problem(code: str) -> tuple[str, str] | None:
    """Why a normalised national list code is malformed, as (error code, 中文 message), or None."""
    if _SCIENTIFIC.match(code):
        return (
            "code_not_text",
            f"医保编码“{code}”被表格软件记成了科学计数法，请将该列设为文本后重新导出",
        )
    if not _CODE_CHARS.match(code):
        return (
            "code_malformed",
            f"医保编码“{code}”格式不正确：应为 8 至 40 位大写字母、数字（可含 - 或 .）",
        )
    kind = CODE_KINDS.get(code[0])
    if kind is not None and kind[1] is not None and len(code) not in kind[1]:
        lengths = " 或 ".join(str(n) for n in kind[1])
        return (
            "code_malformed",
            f"医保编码“{code}”格式不正确：{kind[0]}编码以 {code[0]} 开头，应为 {lengths} 位，"
            f"实为 {len(code)} 位",
        )
    if code[0].isdigit() and len(code) < 9:
        return (
            "code_malformed",
            f"医保编码“{code}”格式不正确：医疗服务项目编码至少 9 位（前导零可能已丢失）",
        )
    return None


# 国药准字 + 1-2 class letters (H 化学药, Z 中药, S 生物制品, J 进口分包装 ...) + 8 digits.
APPROVAL_PATTERN = re.compile(r"^(国药准字)?([HZSJBTF]{1,2})(\d{8})$")


def normalise_approval(value: str) -> str:
    """国药准字 numbers compared with and without the prefix: 'h20183113' -> '国药准字H20183113'.
    Anything else is returned in normalise_code form."""
    code = normalise_code(value)
    match = APPROVAL_PATTERN.match(code)
    if match:
        return f"国药准字{match.group(2)}{match.group(3)}"
    return code
