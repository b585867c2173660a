"""Tables behind the sandbox bureau: the synthetic residents the embedded default knows.
They play the part of the bureau's own records and are never used by a production profile."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, CheckConstraint, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow


class SandboxResident(Base):
    __tablename__ = "sandbox_residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    certno_enc: Mapped[str] = mapped_column(Text)
    certno_index: Mapped[str] = mapped_column(String(64), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), unique=True)
    psn_name: Mapped[str] = mapped_column(String(64))
    gend: Mapped[str] = mapped_column(String(1))
    brdy: Mapped[date]
    insutype: Mapped[str] = mapped_column(String(3))
    psn_insu_stas: Mapped[str] = mapped_column(String(1))
    paus_insu_date: Mapped[date | None]
    # When the current insured period began (1101 psn_insu_date), e.g. the reinstatement day.
    psn_insu_date: Mapped[date | None]
    insuplc_admdvs: Mapped[str] = mapped_column(String(12))
    # Personal-account balance in fen (employee insurance only).
    balc_fen: Mapped[int | None]
    idet_types: Mapped[list] = mapped_column(JSON, default=list)


# --- Personal-account debit (个人账户划扣) -----------------------------------------------------
# The bureau's side of authorise -> debit -> query -> refund. Written only by `SandboxBureau`,
# in its own session, so they behave like another system's records.


class SandboxAccountAuthorisation(Base):
    """The payer's consent to one debit of exactly `amount_fen` for `order_no`, until
    `expires_at`; `used` once a debit with it succeeded."""

    __tablename__ = "sandbox_account_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    authorisation_id: Mapped[str] = mapped_column(String(40), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int]
    order_no: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)


class SandboxAccountTxn(Base):
    """One debit or refund request as the bureau recorded it, failed ones included, keyed by the
    caller's idempotent `request_id` (unique across debits and refunds)."""

    __tablename__ = "sandbox_account_txns"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # "debit" | "refund"
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    amount_fen: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # port.DEBIT_SUCCEEDED / DEBIT_FAILED
    bureau_txn_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    authorisation_id: Mapped[str | None] = mapped_column(String(40))  # debits
    order_no: Mapped[str | None] = mapped_column(String(64))  # debits
    original_request_id: Mapped[str | None] = mapped_column(String(64), index=True)  # refunds
    # On a succeeded debit: how much of it has been refunded so far (never above amount_fen).
    refunded_fen: Mapped[int] = mapped_column(default=0)
    balance_after_fen: Mapped[int | None]
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("kind IN ('debit', 'refund')", name="kind_known"),
        CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_debit"
        ),
    )


# --- Settlement records (结算信息, 2207/5203 setlinfo shape) ----------------------------------
# The bureau's own settlements for the sandbox residents, seeded by `flask demo seed` and added
# by `flask demo settlement`; read by `SandboxBureau.settlement_records` / `settlement_record`.


class SandboxSettlement(Base):
    """One settlement, amounts in fen under the bureau's field names (see
    app/integrations/bureau/settlements.py for what each means and how they add up)."""

    __tablename__ = "sandbox_settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(40), unique=True)
    mdtrt_id: Mapped[str] = mapped_column(String(40))
    psn_no: Mapped[str] = mapped_column(String(40), index=True)
    psn_name: Mapped[str] = mapped_column(String(64))
    fixmedins_code: Mapped[str] = mapped_column(String(20))
    fixmedins_name: Mapped[str] = mapped_column(String(100))
    med_type: Mapped[str] = mapped_column(String(6))
    begndate: Mapped[date]
    enddate: Mapped[date]
    setl_time: Mapped[datetime]
    dise_codg: Mapped[str] = mapped_column(String(20))
    dise_name: Mapped[str] = mapped_column(String(100))
    medfee_sumamt_fen: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt_fen: Mapped[int] = mapped_column(BigInteger)
    overlmt_selfpay_fen: Mapped[int] = mapped_column(BigInteger)
    preselfpay_amt_fen: Mapped[int] = mapped_column(BigInteger)
    inscp_scp_amt_fen: Mapped[int] = mapped_column(BigInteger)
    hifp_pay_fen: Mapped[int] = mapped_column(BigInteger)
    hifmi_pay_fen: Mapped[int] = mapped_column(BigInteger)
    hifob_pay_fen: Mapped[int] = mapped_column(BigInteger)
    maf_pay_fen: Mapped[int] = mapped_column(BigInteger)
    oth_pay_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    psn_part_amt_fen: Mapped[int] = mapped_column(BigInteger)
    acct_pay_fen: Mapped[int] = mapped_column(BigInteger)
    psn_cash_pay_fen: Mapped[int] = mapped_column(BigInteger)
    refd_setl_flag: Mapped[str] = mapped_column(String(1), default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            " AND ".join(
                f"{name} >= 0"
                for name in (
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
                    "psn_part_amt_fen",
                    "acct_pay_fen",
                    "psn_cash_pay_fen",
                )
            ),
            name="amounts_nonnegative",
        ),
        CheckConstraint("refd_setl_flag IN ('0', '1')", name="refd_setl_flag_known"),
        CheckConstraint("begndate <= enddate", name="dates_ordered"),
    )


# --- Fee details (费用明细, 5204 shape) -----------------------------------------------------------
# Each sandbox settlement's itemised lines, written with the settlement (sandbox_fee_lines.py
# plans them so they add up to its totals); read by `SandboxBureau.fee_details`.

_LINE_AMOUNTS = (
    "det_item_fee_sumamt_fen",
    "fulamt_ownpay_amt_fen",
    "overlmt_amt_fen",
    "preselfpay_amt_fen",
    "inscp_scp_amt_fen",
)


class SandboxFeeLine(Base):
    """One fee line as the bureau holds it (app/integrations/bureau/fee_details.py). A reversal
    line (退费) has a negative cnt, amounts <= 0 and names the line it reverses in
    init_feedetl_sn; the bureau stores it as billed and nets it out when asked."""

    __tablename__ = "sandbox_fee_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedetl_sn: Mapped[str] = mapped_column(String(48), unique=True)
    setl_id: Mapped[str] = mapped_column(String(40), index=True)
    mdtrt_id: Mapped[str] = mapped_column(String(40))
    psn_no: Mapped[str] = mapped_column(String(40))
    med_list_codg: Mapped[str] = mapped_column(String(50))
    medins_list_codg: Mapped[str] = mapped_column(String(50))
    med_list_name: Mapped[str] = mapped_column(String(200))
    med_chrgitm_type: Mapped[str] = mapped_column(String(4))
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    cnt: Mapped[Decimal] = mapped_column(Numeric(16, 4))
    pric_fen: Mapped[int] = mapped_column(BigInteger)
    det_item_fee_sumamt_fen: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt_fen: Mapped[int] = mapped_column(BigInteger)
    overlmt_amt_fen: Mapped[int] = mapped_column(BigInteger)
    preselfpay_amt_fen: Mapped[int] = mapped_column(BigInteger)
    inscp_scp_amt_fen: Mapped[int] = mapped_column(BigInteger)
    fee_ocur_time: Mapped[datetime]
    init_feedetl_sn: Mapped[str] = mapped_column(String(48), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("chrgitm_lv IN ('01', '02', '03')", name="chrgitm_lv_known"),
        CheckConstraint("pric_fen >= 0", name="price_nonnegative"),
        # A charge (cnt > 0, every amount >= 0) or a reversal (cnt < 0, every amount <= 0).
        CheckConstraint(
            "(cnt > 0 AND "
            + " AND ".join(f"{name} >= 0" for name in _LINE_AMOUNTS)
            + ") OR (cnt < 0 AND "
            + " AND ".join(f"{name} <= 0" for name in _LINE_AMOUNTS)
            + ")",
            name="charge_or_reversal",
        ),
    )
