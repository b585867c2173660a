"""Claim rules as pure functions over plain data (no Flask, no database).

- settlement_amounts: the bureau's settlement fields -> the claim's amounts (which the engine
  takes), with the identities written down;
- missing_documents: what a kind of care still lacks;
- payee_refusal: who may receive the money (the insured; for a child also the guardian);
- fraud_flags: the checks that send a claim to a reviewer (never a silent rejection).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from app.common.money import yuan, yuan_plain

AMOUNT_FIELDS = (
    "medfee_sumamt_fen",
    "hifp_pay_fen",
    "hifmi_pay_fen",
    "hifob_pay_fen",
    "maf_pay_fen",
    "in_policy_self_pay_fen",
    "out_of_policy_self_pay_fen",
    "special_drugs_fen",
)
MEMBER_AMOUNTS = ("in_policy_self_pay_fen", "out_of_policy_self_pay_fen", "special_drugs_fen")
# The member amounts with a column of their own (kind -> column); any other kind a product's
# buckets count (proton_heavy_ion, a product's own kinds) is kept in `other_amounts`.
AMOUNT_COLUMNS = {column.removesuffix("_fen"): column for column in MEMBER_AMOUNTS}
CHILD_PAYEE_AGE = 18  # below it the guardian may receive a child's money

BANK_ACCOUNT = re.compile(r"^\d{10,30}$")


# --- settlement records -> amounts ----------------------------------------------------------------


class SettlementFigures(Protocol):
    """What `settlement_amounts` reads from a bureau settlement record (the integration's
    SettlementRecord; named here structurally, this module importing no integration)."""

    @property
    def care_kind(self) -> str | None: ...
    @property
    def medfee_sumamt_fen(self) -> int: ...
    @property
    def hifp_pay_fen(self) -> int: ...
    @property
    def oth_pay_fen(self) -> int: ...
    @property
    def hifmi_pay_fen(self) -> int: ...
    @property
    def hifob_pay_fen(self) -> int: ...
    @property
    def maf_pay_fen(self) -> int: ...
    @property
    def in_policy_self_pay_fen(self) -> int: ...
    @property
    def out_of_policy_self_pay_fen(self) -> int: ...
    @property
    def fixmedins_code(self) -> str: ...


def settlement_amounts(
    record: SettlementFigures, providers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The claim amounts for one bureau settlement (a SettlementRecord, fen).

    The member's in-policy self-pay (before medical assistance) and out-of-policy self-pay are
    the record's own derived figures (app/integrations/bureau/settlements.py, identities I1-I5).
    Medical assistance (maf_pay) is passed on separately: the engine deducts it from in-policy
    self-pay (coordination of benefits). Other public payers (oth_pay: civil-servant subsidy,
    enterprise supplementary) are counted with basic insurance, since both paid before 惠民保
    and the engine uses the public payers only to check that the parts add up. For special-drug
    care the out-of-policy money is the special-drug amount (特药 are outside the basic list).
    A record from a provider the product names in `providers` (fixmedins_code -> amount kind,
    e.g. a proton centre) carries its out-of-policy money as that kind.
    """
    out_of_policy = record.out_of_policy_self_pay_fen
    special = 0
    other: dict[str, int] = {}
    kind = (providers or {}).get(record.fixmedins_code)
    if kind == "special_drugs" or (kind is None and record.care_kind == "special_drug"):
        special, out_of_policy = out_of_policy, 0
    elif kind is not None and kind != "out_of_policy_self_pay":
        if kind == "in_policy_self_pay":  # a mapping to in-policy money would count it twice
            raise ValueError("a provider's out-of-policy money cannot be in-policy self-pay")
        if out_of_policy:
            other[kind] = out_of_policy
        out_of_policy = 0
    return {
        "medfee_sumamt_fen": record.medfee_sumamt_fen,
        "hifp_pay_fen": record.hifp_pay_fen + record.oth_pay_fen,
        "hifmi_pay_fen": record.hifmi_pay_fen,
        "hifob_pay_fen": record.hifob_pay_fen,
        "maf_pay_fen": record.maf_pay_fen,
        "in_policy_self_pay_fen": record.in_policy_self_pay_fen,
        "out_of_policy_self_pay_fen": out_of_policy,
        "special_drugs_fen": special,
        "other_amounts": other,
    }


def split_amounts(amounts: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """An `amounts` object (kind -> fen) as (column -> fen, other kind -> fen)."""
    columns = {AMOUNT_COLUMNS[k]: v for k, v in amounts.items() if k in AMOUNT_COLUMNS}
    other = {k: v for k, v in amounts.items() if k not in AMOUNT_COLUMNS}
    return columns, other


def unknown_amount_kinds(amounts: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """The kinds in an `amounts` object that the product's buckets do not count."""
    known = set(allowed)
    return [kind for kind in amounts if kind not in known]


def parts_mismatch(amounts: Mapping[str, Any]) -> int:
    """Total cost minus the sum of its parts (0 when they add up).

    medfee_sumamt = basic + critical illness + large amount + the member's money (in-policy,
    out-of-policy, special drugs); medical assistance is paid out of the in-policy part, so it
    is not added again. `other_amounts` (proton, a product's own kinds) is the member's money
    too."""
    parts = (
        amounts["hifp_pay_fen"]
        + amounts["hifmi_pay_fen"]
        + amounts["hifob_pay_fen"]
        + sum(amounts[k] for k in MEMBER_AMOUNTS)
        + sum((amounts.get("other_amounts") or {}).values())
    )
    total: int = amounts["medfee_sumamt_fen"]
    return total - int(parts)


# --- documents ------------------------------------------------------------------------------------


def missing_documents(required: Iterable[str], uploaded: Iterable[str]) -> list[str]:
    """Required document types not yet uploaded, in the product's order."""
    have = set(uploaded)
    return [kind for kind in required if kind not in have]


# --- payee ----------------------------------------------------------------------------------------


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def payee_refusal(
    *,
    payee_name: str,
    bank_account: str,
    insured_name: str,
    insured_birth: date,
    member_name: str | None,
    today: date,
) -> tuple[str, str] | None:
    """Why this payee cannot receive the claim's money, as (code, message), or None.

    The money goes to the insured person; for a child under 18 it may also go to the guardian
    acting for them (the member filing the claim)."""
    if not BANK_ACCOUNT.match(bank_account):
        return "payee_account_invalid", "银行账号应为 10 至 30 位数字"
    if payee_name == insured_name:
        return None
    if age_on(insured_birth, today) < CHILD_PAYEE_AGE and member_name and payee_name == member_name:
        return None
    if age_on(insured_birth, today) < CHILD_PAYEE_AGE:
        return "payee_not_allowed", "未成年人的理赔款只能支付给被保险人本人或其监护人"
    return "payee_not_allowed", "理赔款只能支付给被保险人本人"


# --- fraud checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    code: str
    zh: str


@dataclass(frozen=True)
class FraudFacts:
    """What the service looked up for one claim."""

    care_start: date
    care_end: date
    coverage_start: date
    coverage_end: date
    amounts: Mapping[str, Any]  # the AMOUNT_FIELDS and other_amounts (kind -> fen)
    insured_name: str
    patient_name: str | None = None  # the name on the invoice / settlement
    insured_psn_no: str | None = None
    record_psn_no: str | None = None  # the settlement record's person, if any
    duplicate_invoices: tuple[str, ...] = ()  # "issuer/number" already on another claim
    duplicate_settlement: bool = False  # the setl_id is already on another claim
    settlement_problems: tuple[str, ...] = ()  # the bureau record's own inconsistencies
    claims_in_window: int = 0  # this person's other claims in the window
    frequency_limit: int = 4
    frequency_window_days: int = 30
    extra: tuple[Flag, ...] = field(default_factory=tuple)


def bureau_split_flag(
    claim_no: str, bureau: tuple[int, int], typed: tuple[int, int]
) -> Flag | None:
    """A supplement whose in-policy self-pay is more than the bureau's settlement record of the
    same stay says (claim `claim_no`, from that record): money the bureau calls out-of-policy,
    typed as in-policy, is paid at the higher ratio. (in-policy, out-of-policy) self-pay, fen."""
    if typed[0] <= bureau[0]:
        return None
    return Flag(
        "episode_amounts_differ",
        f"同一次就医的医保结算记录（理赔 {claim_no}）政策范围内自付 {yuan(bureau[0])} 元、"
        f"范围外自费 {yuan(bureau[1])} 元；本申请填写 {yuan(typed[0])} 元、{yuan(typed[1])} 元，"
        "请以医保结算记录核对",
    )


def fraud_flags(f: FraudFacts) -> list[Flag]:
    """Every reason to send the claim to a person. A flag never rejects by itself."""
    flags: list[Flag] = []
    for ref in f.duplicate_invoices:
        flags.append(Flag("duplicate_invoice", f"发票 {ref} 已在其他理赔申请中使用"))
    if f.duplicate_settlement:
        flags.append(Flag("duplicate_settlement", "该笔医保结算记录已在其他理赔申请中使用"))
    if f.care_start < f.coverage_start or f.care_end > f.coverage_end:
        flags.append(
            Flag(
                "care_outside_coverage",
                f"就医日期 {f.care_start.isoformat()} 至 {f.care_end.isoformat()} 超出保障期 "
                f"{f.coverage_start.isoformat()} 至 {f.coverage_end.isoformat()}",
            )
        )
    if f.patient_name is not None and f.patient_name != f.insured_name:
        flags.append(Flag("name_mismatch", "票据或结算记录上的姓名与被保险人不一致"))
    if f.record_psn_no is not None and f.record_psn_no != f.insured_psn_no:
        flags.append(Flag("person_mismatch", "医保结算记录的参保人与被保险人不一致"))
    gap = parts_mismatch(f.amounts)
    if gap != 0:
        flags.append(
            Flag(
                "amounts_do_not_add_up", f"各项金额合计与医疗费用总额相差 {yuan_plain(abs(gap))} 元"
            )
        )
    for problem in f.settlement_problems:
        flags.append(Flag("settlement_inconsistent", f"医保结算记录金额不一致：{problem}"))
    if f.claims_in_window >= f.frequency_limit:
        flags.append(
            Flag(
                "unusual_frequency",
                f"被保险人近 {f.frequency_window_days} 天内已有 {f.claims_in_window} 笔理赔申请",
            )
        )
    flags.extend(f.extra)
    return flags


def rejection_final(
    status: str,
    last_action: str | None,
    decided_at: datetime | None,
    now: datetime,
    recheck_days: int,
) -> bool:
    """Whether a claim's rejection is final (what it reserved may be given back):
    - a claim that is not rejected: no;
    - a recheck (复核) upheld it (its last action `uphold`): yes, at once (rechecked once);
    - otherwise once `recheck_days` after the decision have passed: a reviewer's rejection may
      be taken to 复核 until then (recheck.request_recheck refuses after it); an automatic one
      may be taken to a human review at any time (PIPL art. 24), so for it this is when what it
      reserved is given back, and a later approval takes it again within what is left."""
    if status != "rejected":
        return False
    if last_action == "uphold":
        return True
    return decided_at is not None and now > decided_at + timedelta(days=recheck_days)
