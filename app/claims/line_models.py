"""A claim's itemised fee lines (claim_lines): the bill's lines in the 5204 shape, where they came
from (the bureau, the member's uploaded list, a reviewer), and what the last match against the
catalogues in force made of each (amount kind, the part on the product's list, reason codes).

The lines are the claim's evidence for its out-of-policy and special-drug amounts: every
adjudication re-matches them (app/claims/lines.py), so a reviewer's correction or a catalogue fix
is used the next time the engine runs.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow

LINE_SOURCES = ("bureau", "member", "staff")


class ClaimFeeLine(Base):
    __tablename__ = "claim_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]  # the bill's order (the quantity limit is consumed in it)
    source: Mapped[str] = mapped_column(String(8))
    feedetl_sn: Mapped[str] = mapped_column(String(64))
    med_list_codg: Mapped[str] = mapped_column(String(64))
    medins_list_codg: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    med_chrgitm_type: Mapped[str] = mapped_column(String(4), default="")
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    cnt: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    pric_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    det_item_fee_sumamt_fen: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    overlmt_amt_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    preselfpay_amt_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    inscp_scp_amt_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_ocur_date: Mapped[date | None]
    approval_no: Mapped[str | None] = mapped_column(String(64))
    # What the last match made of the line (None before the first adjudication).
    amount_kind: Mapped[str | None] = mapped_column(String(24))  # special_drugs | out_of_policy...
    on_list_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    off_list_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reason_codes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "source IN (" + ", ".join(repr(s) for s in LINE_SOURCES) + ")", name="source"
        ),
        CheckConstraint("chrgitm_lv IN ('01', '02', '03')", name="chrgitm_lv"),
        CheckConstraint(
            "pric_fen >= 0 AND det_item_fee_sumamt_fen >= 0 AND fulamt_ownpay_amt_fen >= 0 AND "
            "overlmt_amt_fen >= 0 AND preselfpay_amt_fen >= 0 AND inscp_scp_amt_fen >= 0 AND "
            "on_list_fen >= 0 AND off_list_fen >= 0",
            name="amounts_nonnegative",
        ),
        CheckConstraint("cnt > 0", name="cnt_positive"),
    )
