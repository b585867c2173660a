"""Bureau settlement records (结算信息) as plain data: the `setlinfo` shape that the national
medical-insurance platform returns from 2207 (a hospital's settlement) and 5203 (结算信息查询),
in integer fen; the map from the bureau's medical type (`med_type`) to Huimin's kinds of care;
and the arithmetic identities every settlement satisfies, as a pure check the claims fraud rules
call. No Flask, no database.

The amounts (bureau field -> meaning; all `*_fen` integers, never negative):

    medfee_sumamt      医疗费总额        total cost of the care
    fulamt_ownpay_amt  全自费金额        items wholly outside the catalogue (out-of-policy)
    overlmt_selfpay    超限价自费费用    the part of a price above the catalogue's limit (out-of-policy)
    preselfpay_amt     先行自付金额      乙类 items' first self-paid share (in the catalogue)
    inscp_scp_amt      符合政策范围金额  the in-policy amount the funds work on
    hifp_pay           统筹基金支出      basic insurance
    hifmi_pay          居民大病保险      resident critical-illness insurance
    hifob_pay          职工大额补助      employee large-amount insurance
    maf_pay            医疗救助          medical assistance
    oth_pay            any other payer than the member: 公务员医疗补助 cvlserv_pay + 企业补充
                       hifes_pay + 其他 oth_pay + 医院负担 hosp_part_amt (the adapter sums them;
                       normally 0)
    psn_part_amt       个人负担总金额    what the member carried
    acct_pay           个人账户支出      ...paid from the personal account (incl. 共济)
    psn_cash_pay       个人现金支出      ...paid in cash

Identities a settlement satisfies (`settlement_inconsistencies` checks each; a record that
breaks one is not trusted blindly, it goes to a reviewer):

    I1 total_split_mismatch        medfee = fulamt + overlmt + preselfpay + inscp
                                   (the total, split by policy scope)
    I2 total_payers_mismatch       medfee = hifp + hifmi + hifob + maf + oth + psn_part
                                   (the total, split by who paid)
    I3 personal_part_mismatch      psn_part = acct_pay + psn_cash_pay
    I4 funds_exceed_policy_scope   hifp + hifmi + hifob + oth <= inscp
                                   (insurance funds pay only within the policy scope)
    I5 assistance_exceeds_self_pay maf <= inscp + preselfpay - (hifp + hifmi + hifob + oth)
                                   (medical assistance pays only in-policy money still owed;
                                   the right side is taken as 0 when I4 is already broken, so
                                   a record with maf 0 is not flagged twice)
    D1 dates_out_of_order          begndate <= enddate <= the settlement's Shanghai date

From I1 and I2 it follows that the member's in-policy and out-of-policy self-pay (the
properties below) add up to psn_part + maf: medical assistance relieves the member of part of
the in-policy self-pay, and 惠民保 pays last, after it (DOMAIN.md "order of payment").

A reversed settlement (`refd_setl_flag` "1", 退费/冲销) is reported with its original,
non-negative amounts and is never claimable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

REFD_SETL_NORMAL = "0"
REFD_SETL_REVERSED = "1"

# The bureau's medical type (医疗类别 med_type) -> Huimin's kind of care. 惠民保 covers in-patient
# care and care treated as in-patient (DOMAIN.md); every other medical type maps to None and is
# not claimable (11 普通门诊, 12 门诊挂号, 41 定点药店购药, 51/52 生育 ...).
#
# 13, 14, 21-24 are the national platform's dictionary values. 2114, 9909 and 9910 are the city
# gateway's own extensions: the national dictionary has no separate code for day surgery,
# emergency observation or the special drugs settled under the 单独支付/双通道 arrangement. A city
# with other local codes changes this table only.
MED_TYPE_CARE_KINDS: dict[str, str] = {
    "21": "in_patient",  # 普通住院
    "22": "in_patient",  # 外伤住院
    "23": "in_patient",  # 转外诊治住院
    "24": "in_patient",  # 急诊转住院
    "2114": "day_surgery",  # 日间手术 (city extension)
    "13": "emergency",  # 急诊
    "9909": "emergency",  # 急诊留观/抢救 (city extension)
    "14": "chronic_outpatient",  # 门诊慢特病 (一类门诊慢特病)
    "9910": "special_drug",  # 特药：单独支付/双通道药品 (city extension)
}

MED_TYPE_NAMES: dict[str, str] = {
    "11": "普通门诊",
    "12": "门诊挂号",
    "13": "急诊",
    "14": "门诊慢特病",
    "21": "普通住院",
    "22": "外伤住院",
    "23": "转外诊治住院",
    "24": "急诊转住院",
    "41": "定点药店购药",
    "2114": "日间手术",
    "9909": "急诊留观",
    "9910": "特药",
}

AMOUNT_FIELDS = (
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

# Stable codes returned by `settlement_inconsistencies`, with the reviewer's reading of each.
INCONSISTENCIES: dict[str, str] = {
    "total_split_mismatch": "医疗费总额不等于全自费、超限价自费、先行自付与政策范围内金额之和",
    "total_payers_mismatch": "医疗费总额不等于各项基金支付与个人负担之和",
    "personal_part_mismatch": "个人负担总金额不等于个人账户支出与现金支出之和",
    "funds_exceed_policy_scope": "基本医保、大病保险等基金支付超过政策范围内金额",
    "assistance_exceeds_self_pay": "医疗救助支付超过政策范围内个人自付",
    "dates_out_of_order": "入院、出院与结算日期先后顺序不对",
}


def care_kind_of(med_type: str) -> str | None:
    """Huimin's kind of care for a bureau medical type, or None when 惠民保 does not cover it."""
    return MED_TYPE_CARE_KINDS.get(med_type)


@dataclass(frozen=True, kw_only=True)
class SettlementRecord:
    """One settlement as the bureau holds it. Field names are the bureau's (plus `_fen`).

    `setl_time` is an aware datetime in Asia/Shanghai; `begndate` / `enddate` are the
    admission and discharge (or visit) dates, Asia/Shanghai calendar dates. The record never
    carries the ID number: the person is `psn_no` (and `psn_name`, for the name check)."""

    setl_id: str
    mdtrt_id: str
    psn_no: str
    psn_name: str
    fixmedins_code: str
    fixmedins_name: str
    med_type: str
    begndate: date
    enddate: date
    setl_time: datetime
    dise_codg: str
    dise_name: str
    medfee_sumamt_fen: int
    fulamt_ownpay_amt_fen: int
    overlmt_selfpay_fen: int
    preselfpay_amt_fen: int
    inscp_scp_amt_fen: int
    hifp_pay_fen: int
    hifmi_pay_fen: int
    hifob_pay_fen: int
    maf_pay_fen: int
    oth_pay_fen: int = 0
    psn_part_amt_fen: int
    acct_pay_fen: int
    psn_cash_pay_fen: int
    refd_setl_flag: str = REFD_SETL_NORMAL

    def __post_init__(self) -> None:
        for name in ("setl_id", "mdtrt_id", "psn_no", "med_type"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        for name in ("psn_name", "fixmedins_code", "fixmedins_name", "dise_codg", "dise_name"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        for name in ("begndate", "enddate"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ValueError(f"{name} must be a datetime.date (Asia/Shanghai)")
        if not isinstance(self.setl_time, datetime) or self.setl_time.tzinfo is None:
            raise ValueError("setl_time must be a timezone-aware datetime")
        for name in AMOUNT_FIELDS:
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative integer number of fen")
        if self.refd_setl_flag not in (REFD_SETL_NORMAL, REFD_SETL_REVERSED):
            raise ValueError("refd_setl_flag must be '0' or '1'")

    # -- what the claims side reads -------------------------------------------------------------

    @property
    def care_kind(self) -> str | None:
        """One of CARE_KINDS, or None when the medical type is not 惠民保 care."""
        return care_kind_of(self.med_type)

    @property
    def cancelled(self) -> bool:
        """Reversed (退费/冲销) by the hospital: the bureau no longer stands behind it."""
        return self.refd_setl_flag == REFD_SETL_REVERSED

    @property
    def claimable(self) -> bool:
        """Not reversed, and a kind of care 惠民保 covers."""
        return not self.cancelled and self.care_kind is not None

    @property
    def care_date(self) -> date:
        """The date of care that coverage and basic-insurance status are checked on: the
        admission (or visit) date."""
        return self.begndate

    @property
    def settled_on(self) -> date:
        return self.setl_time.astimezone(SHANGHAI).date()

    @property
    def insurance_funds_fen(self) -> int:
        """hifp + hifmi + hifob + oth: what insurance paid (medical assistance excluded)."""
        return self.hifp_pay_fen + self.hifmi_pay_fen + self.hifob_pay_fen + self.oth_pay_fen

    @property
    def fund_pay_sumamt_fen(self) -> int:
        """基金支付总额: every fund, medical assistance included."""
        return self.insurance_funds_fen + self.maf_pay_fen

    @property
    def in_policy_self_pay_fen(self) -> int:
        """医保政策范围内个人自付 before medical assistance: inscp + preselfpay minus what insurance
        paid (the basic deductible and co-pay are in it). Never negative, even for a record
        that breaks I4."""
        return max(self.inscp_scp_amt_fen + self.preselfpay_amt_fen - self.insurance_funds_fen, 0)

    @property
    def out_of_policy_self_pay_fen(self) -> int:
        """医保范围外自费: fulamt + overlmt."""
        return self.fulamt_ownpay_amt_fen + self.overlmt_selfpay_fen


def settlement_inconsistencies(record: SettlementRecord) -> list[str]:
    """The identities (module docstring, I1-I5 and D1) this record breaks, as stable codes in
    that order; empty when it adds up. Each code's Chinese reading is INCONSISTENCIES[code]."""
    r = record
    found: list[str] = []
    if r.medfee_sumamt_fen != (
        r.fulamt_ownpay_amt_fen + r.overlmt_selfpay_fen + r.preselfpay_amt_fen + r.inscp_scp_amt_fen
    ):
        found.append("total_split_mismatch")
    if r.medfee_sumamt_fen != r.fund_pay_sumamt_fen + r.psn_part_amt_fen:
        found.append("total_payers_mismatch")
    if r.psn_part_amt_fen != r.acct_pay_fen + r.psn_cash_pay_fen:
        found.append("personal_part_mismatch")
    if r.insurance_funds_fen > r.inscp_scp_amt_fen:
        found.append("funds_exceed_policy_scope")
    if r.maf_pay_fen > r.in_policy_self_pay_fen:  # the in-policy self-pay is clamped at 0
        found.append("assistance_exceeds_self_pay")
    if not (r.begndate <= r.enddate <= r.settled_on):
        found.append("dates_out_of_order")
    return found
