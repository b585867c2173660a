"""Request bodies for a claim's itemised lines given by a person: the member's uploaded list (a
CSV/XLSX file) or JSON list, and a reviewer's JSON list with a reason. Amounts in JSON are
integer fen, shaped like the bureau's 5204 rows; a sheet's are yuan (app/claims/line_sheet.py)."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

from app.claims.line_sheet import MAX_ROWS
from app.claims.schemas import MAX_FEN
from app.common.schemas import StrictSchema, plain_text

MAX_COUNT = Decimal("99999999")  # the column is Numeric(16, 4)


def _fen(**kw):
    # strict: a JSON 100.5 or "100" is refused, never truncated to 100 fen
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_FEN), **kw)


def _count(value: Decimal) -> None:
    """A quantity as the printed list and the bureau's rows give it: positive, at most four
    decimals, and within what a fee line can hold (the sheet's rule, line_sheet._count)."""
    if not (0 < value <= MAX_COUNT) or value != value.quantize(Decimal("0.0001")):
        raise ma.ValidationError("数量应为大于 0 的数（最多四位小数）")


def _code(max_len: int, **kw):
    return ma.fields.String(validate=ma.validate.Length(max=max_len), **kw)


class LinesFileSchema(ma.Schema):
    file = ma.fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "医院费用明细清单（CSV 或 XLSX），表头如：项目编码/医保编码、项目名称、"
            "等级（甲/乙/丙）、数量、单价、金额、全自费、超限价、先行自付、政策范围内（金额单位：元）",
        },
    )


class FeeLineInSchema(StrictSchema):
    feedetl_sn = _code(64, metadata={"description": "明细序号（缺省为第几条）"})
    med_list_codg = _code(64, required=True, metadata={"description": "医保目录编码"})
    medins_list_codg = _code(64)
    name = _code(200)
    med_chrgitm_type = _code(4)
    chrgitm_lv = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=4),
        metadata={"description": "01 甲类 / 02 乙类 / 03 丙类（也可写 甲、乙、丙）"},
    )
    cnt = ma.fields.Decimal(
        validate=_count, metadata={"description": "数量（缺省 1，最多四位小数）"}
    )
    pric_fen = _fen(metadata={"description": "单价（分；缺省为金额 / 数量）"})
    det_item_fee_sumamt_fen = _fen(required=True)
    fulamt_ownpay_amt_fen = _fen()
    overlmt_amt_fen = _fen()
    preselfpay_amt_fen = _fen()
    inscp_scp_amt_fen = _fen()
    fee_ocur_date = ma.fields.Date()
    approval_no = _code(64)


class LinesBodySchema(StrictSchema):
    lines = ma.fields.List(
        ma.fields.Nested(FeeLineInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_ROWS),
    )


class StaffLinesBodySchema(LinesBodySchema):
    reason = ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=1000), plain_text(multiline=True)]
    )
