"""Fee details over the real bureau's transport: the national platform's 5204 费用明细查询.

Input ``{"data": {"psn_no", "setl_id", "mdtrt_id", "page_num", "page_size"}}``. The national
5204 takes psn_no, setl_id and mdtrt_id; ``page_num`` (from 1) and ``page_size`` are the city
gateway's paging, which it adds to every detail query because a long stay has thousands of
lines. Output ``{"feedetail": [ROW, ...], "page_num", "page_size", "total_page",
"record_counts"}``: ``feedetail`` ``[]`` or null when a page has no lines; the paging keys may be
absent, which means one page holds everything. The adapter asks page after page until
``total_page`` (at most MAX_PAGES), and refuses an answer whose page number is not the one
asked, whose page holds more rows than ``page_size``, whose ``total_page`` changes between
pages, or whose ``record_counts`` is not the number of rows received.

``ROW`` keys read: ``feedetl_sn``, ``setl_id``, ``mdtrt_id``, ``psn_no`` (optional; when present
it must be the person asked about), ``med_list_codg``, ``medins_list_codg`` (optional),
``med_list_name`` or else ``medins_list_name`` (optional), ``med_chrgitm_type`` (optional),
``chrgitm_lv`` (``01``/``02``/``03``; ``1``-``3`` accepted), ``cnt``, ``pric``,
``det_item_fee_sumamt``, ``fulamt_ownpay_amt``, ``overlmt_amt``, ``preselfpay_amt``,
``inscp_scp_amt``, ``fee_ocur_time`` (``YYYY-MM-DD HH:MM:SS`` Shanghai) and ``init_feedetl_sn``
(optional; on a reversal line, the line it reverses). Amounts are yuan (decimal strings or JSON
numbers) converted to fen exactly: a fraction of a fen is malformed, never rounded; they are
negative only on a reversal line (negative ``cnt``). The unit price ``pric`` may have more
decimals than the fen and is rounded half up to it (http_fields.price_field): it is only ever
compared with a catalogue's price limit, never added up.

What `fee_details` returns is the lines netted and checked by fee_details.settled_fee_details:
a reply whose lines are another settlement's or another person's, whose reversals cannot be
netted or which do not add up to the settlement's 5203 totals raises `FeeDetailsInconsistent`
(the bureau answered; asking again will not help); a reply that cannot be read raises
`BureauUnavailable` ("malformed").
"""

from __future__ import annotations

from typing import Any

from app.integrations.bureau.fee_details import (
    FeeDetailRecord,
    settled_fee_details,
)
from app.integrations.bureau.http_fields import (
    Malformed,
    check_id,
    code_field,
    count_field,
    list_field,
    optional_text,
    price_field,
    signed_amount_field,
    time_field,
)
from app.integrations.bureau.http_settlements import SettlementQueries
from app.integrations.bureau.port import BureauUnavailable
from app.integrations.bureau.settlements import SettlementRecord

INFNO_FEE_DETAILS = "5204"  # national: 费用明细查询
PAGE_SIZE = 200
MAX_PAGES = 100  # 20,000 lines: far beyond any real bill; a gateway looping forever is refused
LINE_AMOUNTS = (
    "det_item_fee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_amt",
    "preselfpay_amt",
    "inscp_scp_amt",
)


class FeeDetailQueries(SettlementQueries):
    """The 5204 part of `HttpBureau` (it asks 5203 for the totals when not given them)."""

    def fee_details(
        self, psn_no: str, setl_id: str, *, settlement: SettlementRecord | None = None
    ) -> list[FeeDetailRecord] | None:
        """5204 费用明细查询, every page; None when the bureau has no such settlement."""
        check_id(psn_no, "psn_no")
        check_id(setl_id, "setl_id")
        if settlement is not None and (settlement.psn_no, settlement.setl_id) != (
            psn_no,
            setl_id,
        ):
            raise ValueError("settlement is not this person's settlement setl_id")
        if settlement is None:
            settlement = self.settlement_record(psn_no, setl_id)
            if settlement is None:
                return None
        rows = self._fee_detail_rows(psn_no, settlement)
        try:
            lines = [to_fee_detail(row, psn_no) for row in rows]
        except Malformed as exc:
            raise BureauUnavailable(f"bureau {INFNO_FEE_DETAILS} output malformed: {exc}") from None
        return settled_fee_details(lines, settlement, source=f"bureau {INFNO_FEE_DETAILS}")

    def _fee_detail_rows(self, psn_no: str, settlement: SettlementRecord) -> list[Any]:
        rows: list[Any] = []
        total_pages: int | None = None
        page = 1
        try:
            while True:
                output = self.call(
                    INFNO_FEE_DETAILS,
                    {
                        "data": {
                            "psn_no": psn_no,
                            "setl_id": settlement.setl_id,
                            "mdtrt_id": settlement.mdtrt_id,
                            "page_num": page,
                            "page_size": PAGE_SIZE,
                        }
                    },
                )
                page_rows = list_field(output, "feedetail")
                if _int_field(output, "page_num", page) != page:
                    raise Malformed(f"asked for page {page}, got another")
                if len(page_rows) > _int_field(output, "page_size", PAGE_SIZE):
                    raise Malformed("a page holds more rows than its page_size")
                pages = _int_field(output, "total_page", 1)
                if total_pages is not None and pages != total_pages:
                    raise Malformed("total_page changed between pages")
                if not 1 <= pages <= MAX_PAGES:
                    raise Malformed(f"total_page {pages} is outside 1..{MAX_PAGES}")
                total_pages = pages
                rows.extend(page_rows)
                if page >= total_pages:
                    break
                page += 1
            if _int_field(output, "record_counts", len(rows)) != len(rows):
                raise Malformed("record_counts is not the number of lines received")
        except Malformed as exc:
            raise BureauUnavailable(f"bureau {INFNO_FEE_DETAILS} output malformed: {exc}") from None
        return rows


def _int_field(output: dict, key: str, default: int) -> int:
    """A paging number: absent or null -> default; an integer or a digit string otherwise."""
    value = output.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise Malformed(f"{key} is not a whole number")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int):
        return value
    raise Malformed(f"{key} is not a whole number")


def to_fee_detail(row: Any, psn_no: str) -> FeeDetailRecord:
    """One ``feedetail`` row as a `FeeDetailRecord` of `psn_no`; raises `Malformed`."""
    if not isinstance(row, dict):
        raise Malformed("feedetail row is not an object")
    if row.get("psn_no") not in (None, "") and code_field(row, "psn_no") != psn_no:
        raise Malformed("feedetail row is for another person")
    level = code_field(row, "chrgitm_lv").zfill(2)
    amounts = {f"{key}_fen": signed_amount_field(row, key) for key in LINE_AMOUNTS}
    name = optional_text(row, "med_list_name") or optional_text(row, "medins_list_name")
    try:
        return FeeDetailRecord(
            feedetl_sn=code_field(row, "feedetl_sn"),
            setl_id=code_field(row, "setl_id"),
            mdtrt_id=code_field(row, "mdtrt_id"),
            psn_no=psn_no,
            med_list_codg=code_field(row, "med_list_codg"),
            medins_list_codg=optional_text(row, "medins_list_codg"),
            name=name,
            med_chrgitm_type=optional_text(row, "med_chrgitm_type"),
            chrgitm_lv=level,
            cnt=count_field(row, "cnt"),
            pric_fen=price_field(row, "pric"),
            fee_ocur_time=time_field(row, "fee_ocur_time"),
            init_feedetl_sn=optional_text(row, "init_feedetl_sn"),
            **amounts,
        )
    except ValueError as exc:  # a level outside 01-03, amounts whose signs disagree with cnt
        raise Malformed(str(exc)) from None
