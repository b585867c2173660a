"""Settlement records over the real bureau's transport: 5203 (national) and 9605 (Huimin's model).

`settlement_record` is the national platform's ``5203`` 结算信息查询: input
``{"data": {"psn_no", "setl_id"}}`` (its optional ``mdtrt_id`` is not sent); output
``{"setlinfo": SETL, "setldetail": [...]}``, or ``{"setlinfo": null}`` when the bureau has no
such settlement for that person (-> None). ``setldetail`` (per-fund breakdown) is not read.

The platform has no interface that lists a person's settlements over a period (5201 lists
visits, without amounts), so `settlement_records` uses Huimin's modelled ``9605``, in the same
family as 9601-9604 (http_account.py): input ``{"data": {"psn_no", "begndate", "enddate"}}``
(``YYYY-MM-DD``, Asia/Shanghai, inclusive, matched against the settlement date); output
``{"setlinfo": [SETL, ...]}`` (``[]`` or null when there are none). Rows settled outside the
range are dropped; two rows with one ``setl_id`` are malformed.

``SETL`` is the ``setlinfo`` object of 2207/5203, of which these keys are read:
``setl_id``, ``mdtrt_id``, ``psn_no``, ``psn_name``, ``fixmedins_code``, ``fixmedins_name``,
``med_type``, ``begndate``, ``enddate`` (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``),
``setl_time`` (``YYYY-MM-DD HH:MM:SS`` Shanghai), ``dise_codg``, ``dise_name`` (may be empty),
``refd_setl_flag`` (``"0"`` normal, ``"1"`` reversed), and the amounts ``medfee_sumamt``,
``fulamt_ownpay_amt``, ``overlmt_selfpay``, ``preselfpay_amt``, ``inscp_scp_amt``,
``hifp_pay``, ``hifmi_pay``, ``hifob_pay``, ``maf_pay``, ``psn_part_amt``, ``acct_pay``,
``psn_cash_pay`` (required) and ``cvlserv_pay``, ``hifes_pay``, ``oth_pay``,
``hosp_part_amt`` (optional, 0 when absent; summed into `SettlementRecord.oth_pay_fen`).
Amounts are yuan, as decimal strings or JSON numbers, converted to fen exactly: a fraction of a
fen, a negative amount or a non-number is malformed (never rounded). A reversed settlement is
reported once, with its original non-negative amounts and ``refd_setl_flag`` ``"1"``. A row for
another ``psn_no`` than the one asked about is malformed: another person's data is never
handed on. ``certno`` (which 5203 includes) is never read or kept. Whether the amounts add up
is not the adapter's business: `settlements.settlement_inconsistencies` flags that for review.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.integrations.bureau.http_fields import (
    Malformed,
    amount_field,
    check_id,
    check_range,
    code_field,
    date_field,
    list_field,
    optional_text,
    str_field,
    time_field,
)
from app.integrations.bureau.http_transport import BureauTransport
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.settlements import SettlementRecord

INFNO_SETTLEMENT_DETAIL = "5203"  # national: 结算信息查询
INFNO_SETTLEMENT_LIST = "9605"  # Huimin's modelled settlement list (see the module docstring)
# setlinfo amounts read into SettlementRecord.<key>_fen, and the other payers summed into oth_pay.
SETTLEMENT_AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "hifp_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
)
OTHER_PAYERS = ("cvlserv_pay", "hifes_pay", "oth_pay", "hosp_part_amt")


class SettlementQueries(BureauTransport):
    """The 5203 / 9605 part of `HttpBureau`."""

    def settlement_records(self, psn_no: str, begin: date, end: date) -> list[SettlementRecord]:
        """9605 (Huimin's modelled list). Oldest first; reversed settlements included."""
        check_id(psn_no, "psn_no")
        check_range(begin, end)
        output = self.call(
            INFNO_SETTLEMENT_LIST,
            {
                "data": {
                    "psn_no": psn_no,
                    "begndate": begin.isoformat(),
                    "enddate": end.isoformat(),
                }
            },
        )
        try:
            rows = list_field(output, "setlinfo")
            records = [to_settlement(row, psn_no) for row in rows]
            if len({r.setl_id for r in records}) != len(records):
                raise Malformed("setlinfo repeats a setl_id")
        except Malformed as exc:
            raise BureauUnavailable(
                f"bureau {INFNO_SETTLEMENT_LIST} output malformed: {exc}"
            ) from None
        in_range = [r for r in records if begin <= r.settled_on <= end]
        return sorted(in_range, key=lambda r: (r.setl_time, r.setl_id))

    def settlement_record(self, psn_no: str, setl_id: str) -> SettlementRecord | None:
        """5203 结算信息查询. None when the bureau has no such settlement for this person."""
        check_id(psn_no, "psn_no")
        check_id(setl_id, "setl_id")
        output = self.call(
            INFNO_SETTLEMENT_DETAIL, {"data": {"psn_no": psn_no, "setl_id": setl_id}}
        )
        try:
            row = output.get("setlinfo")
            if row is None:
                return None
            record = to_settlement(row, psn_no)
            if record.setl_id != setl_id:
                raise Malformed("setlinfo is for another settlement")
            return record
        except Malformed as exc:
            raise BureauUnavailable(
                f"bureau {INFNO_SETTLEMENT_DETAIL} output malformed: {exc}"
            ) from None


def to_settlement(row: Any, psn_no: str) -> SettlementRecord:
    """One ``setlinfo`` object as a `SettlementRecord` of `psn_no`; raises `Malformed`."""
    if not isinstance(row, dict):
        raise Malformed("setlinfo row is not an object")
    if code_field(row, "psn_no") != psn_no:
        raise Malformed("setlinfo row is for another person")
    setl_time = time_field(row, "setl_time")
    flag = code_field(row, "refd_setl_flag")
    if flag not in ("0", "1"):
        raise Malformed("refd_setl_flag is neither 0 nor 1")
    amounts = {f"{key}_fen": amount_field(row, key) for key in SETTLEMENT_AMOUNTS}
    amounts["oth_pay_fen"] = sum(
        0 if row.get(key) in (None, "") else amount_field(row, key) for key in OTHER_PAYERS
    )
    try:
        return SettlementRecord(
            setl_id=code_field(row, "setl_id"),
            mdtrt_id=code_field(row, "mdtrt_id"),
            psn_no=psn_no,
            psn_name=str_field(row, "psn_name").strip(),
            fixmedins_code=code_field(row, "fixmedins_code"),
            fixmedins_name=str_field(row, "fixmedins_name").strip(),
            med_type=code_field(row, "med_type"),
            begndate=date_field(row, "begndate", nullable=False),
            enddate=date_field(row, "enddate", nullable=False),
            setl_time=setl_time,
            dise_codg=optional_text(row, "dise_codg"),
            dise_name=optional_text(row, "dise_name"),
            refd_setl_flag=flag,
            **amounts,
        )
    except ValueError as exc:  # pragma: no cover - every field was checked above
        raise Malformed(str(exc)) from None
