"""Pure rules of the hospitals' API: what is signed, the timestamp window, and reading the
settlement (setlinfo) and its itemised fees (feedetail) into the bureau's record shapes, with
every way they fail to add up. No Flask, no database.

What an institution signs (SM2 over SM3, the signer port) is the canonical string

    METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n SM3(BODY) hex

TIMESTAMP is Unix seconds; NONCE 16-64 of [A-Za-z0-9_-], used once per institution.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import MISSING, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.catalogues.matching import FeeLine
from app.common.money import yuan
from app.integrations.bureau.fee_details import FeeDetailRecord, fee_detail_discrepancies
from app.integrations.bureau.settlements import (
    INCONSISTENCIES,
    SettlementRecord,
    settlement_inconsistencies,
)
from app.integrations.signer.sm2 import sm3

NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TIMESTAMP = re.compile(r"^\d{1,12}$")

_SETL_FIELDS = {f.name: f for f in fields(SettlementRecord)}
_LINE_FIELDS = {f.name: f for f in fields(FeeDetailRecord)}


def body_digest(body: bytes) -> str:
    return sm3(body).hex()


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes an institution signs for one request."""
    return "\n".join((method.upper(), path, timestamp, nonce, body_digest(body))).encode()


def header_problem(timestamp: str | None, nonce: str | None) -> str | None:
    """Why the timestamp or nonce header cannot be read (None when both can)."""
    if not timestamp or not TIMESTAMP.match(timestamp):
        return "X-Timestamp 须为 Unix 秒数"
    if not nonce or not NONCE.match(nonce):
        return "X-Nonce 须为 16-64 位字母、数字、下划线或连字符"
    return None


def within_window(timestamp: int, now: int, window_seconds: int) -> bool:
    """A request is fresh when its timestamp is within the window of now, either way."""
    return abs(now - timestamp) <= window_seconds


class BadSettlement(ValueError):
    """The settlement or its lines cannot be read (`code` says how: request or amounts)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _value(name: str, kind: Any, raw: Any) -> Any:
    text = str(kind)
    if raw is None:
        raise BadSettlement("direct_request_invalid", f"{name} 不能为空")
    try:
        if "Decimal" in text:
            return Decimal(str(raw))
        if "datetime" in text:
            value = datetime.fromisoformat(str(raw))
            if value.tzinfo is None:
                raise ValueError("naive")
            return value
        if "date" in text:
            return date.fromisoformat(str(raw))
        if text.startswith("int"):
            if type(raw) is not int:
                raise ValueError("not int")
            return raw
    except (ValueError, InvalidOperation):
        raise BadSettlement("direct_request_invalid", f"{name} 格式不正确") from None
    return raw


def _build(cls: Any, known: dict, data: dict, where: str) -> Any:
    if not isinstance(data, dict):
        raise BadSettlement("direct_request_invalid", f"{where} 须为对象")
    args = {}
    for name, f in known.items():
        if name in data:
            args[name] = _value(f"{where}.{name}", f.type, data[name])
    missing = [
        name
        for name, f in known.items()
        if name not in args and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise BadSettlement("direct_request_invalid", f"{where} 缺少字段：{'、'.join(missing)}")
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        # the record's own check names the field first ("cnt must be a finite Decimal"): say
        # which field in Chinese, keep its words as the detail
        name = str(exc).split(" ", 1)[0]
        field = f"{where}.{name}" if name in known else where
        raise BadSettlement("direct_request_invalid", f"{field} 取值不合规（{exc}）") from None


def read_settlement(
    setlinfo: dict, feedetail: list[dict]
) -> tuple[SettlementRecord, list[FeeDetailRecord]]:
    """The request's settlement and lines in the bureau's shapes, checked to add up: the
    settlement's own identities, then the lines against it. Raises BadSettlement."""
    record = _build(SettlementRecord, _SETL_FIELDS, setlinfo, "setlinfo")
    lines = [_build(FeeDetailRecord, _LINE_FIELDS, row, "feedetail") for row in feedetail]
    for line in lines:
        if (line.setl_id, line.mdtrt_id, line.psn_no) != (
            record.setl_id,
            record.mdtrt_id,
            record.psn_no,
        ):
            raise BadSettlement(
                "direct_request_invalid", f"费用明细 {line.feedetl_sn} 不属于本次结算"
            )
        if line.reversal:
            raise BadSettlement("direct_request_invalid", "费用明细须为冲销后的净额")
    problems = [INCONSISTENCIES[c] for c in settlement_inconsistencies(record)]
    problems += [f"费用明细与结算不符（{d}）" for d in fee_detail_discrepancies(lines, record)]
    if problems:
        raise BadSettlement("direct_amounts_mismatch", "；".join(problems))
    return record, lines


# The figures the hospital's settlement must share with the bureau's record of it (the diagnosis
# code too: it decides whether a chronic out-patient visit is a covered class-one condition).
COMPARED = (
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "med_type",
    "dise_codg",
    "begndate",
    "enddate",
    "medfee_sumamt_fen",
    "fulamt_ownpay_amt_fen",
    "overlmt_selfpay_fen",
    "preselfpay_amt_fen",
    "inscp_scp_amt_fen",
    "hifp_pay_fen",
    "hifmi_pay_fen",
    "hifob_pay_fen",
    "maf_pay_fen",
    "oth_pay_fen",
)


def differences(ours: SettlementRecord, bureau: SettlementRecord) -> list[str]:
    """The COMPARED fields on which the hospital's settlement and the bureau's record differ."""
    return [name for name in COMPARED if getattr(ours, name) != getattr(bureau, name)]


# What the engine reads of a fee line (every FeeLine field but the line's number, its key here,
# and the names and item codes the hospital may spell its own way): the hospital's lines must be
# the bureau's 5204 lines in these.
LINE_COMPARED = tuple(
    f.name for f in fields(FeeLine) if f.name not in ("feedetl_sn", "name", "medins_list_codg")
)


def line_differences(ours: Sequence[Any], bureau: Sequence[FeeDetailRecord]) -> list[str]:
    """How the hospital's fee lines differ from the bureau's (by feedetl_sn), in Chinese: a
    member's claim for the stay is quoted on the bureau's lines, so the counter must be too."""
    theirs = {line.feedetl_sn: line for line in bureau}
    found = []
    for line in ours:
        other = theirs.pop(line.feedetl_sn, None)
        if other is None:
            found.append(f"{line.feedetl_sn} 医保明细中没有")
            continue
        fields_ = [n for n in LINE_COMPARED if getattr(line, n) != getattr(other, n)]
        if fields_:
            found.append(f"{line.feedetl_sn}（{'、'.join(fields_)}）")
    found += [f"{sn} 未上传" for sn in theirs]
    return found


# --- the member's explanation once the hospital cancelled (撤销) ---------------------------------

SETTLED_TOTAL = "counter_settled_total"
CANCELLED = "counter_settlement_cancelled"


def cancelled_explanation(adjudication: dict, cancelled_on: date) -> dict:
    """The claim's explanation after the hospital cancelled its counter settlement on
    `cancelled_on` (an Asia/Shanghai day): the engine's lines stay, as what had been settled, but
    its total no longer says it is paid now (本次赔付合计 becomes 原一站式结算赔付合计, the figure
    unchanged), and a closing line says when the hospital cancelled it and that 0 is paid.
    Applied once: an explanation that already closes with the cancellation is returned as is."""
    lines = list(adjudication.get("lines") or [])
    if lines and lines[-1].get("code") == CANCELLED:
        return adjudication
    settled = yuan(int(adjudication.get("payable_fen") or 0))
    kept = [
        line
        if line.get("code") != "payable_total"
        else line
        | {
            "code": SETTLED_TOTAL,
            "zh": f"原一站式结算赔付合计 {settled} 元",
            "en": f"settled at the hospital counter: {settled} yuan",
        }
        for line in lines
    ]
    closing = {
        "code": CANCELLED,
        "zh": f"医院已于 {cancelled_on.isoformat()} 撤销本次一站式结算，本次实际赔付 0.00 元",
        "en": f"the hospital cancelled this counter settlement on {cancelled_on.isoformat()}: "
        "0.00 yuan paid",
        "bucket": None,
    }
    return adjudication | {"lines": [*kept, closing]}
