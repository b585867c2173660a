"""Premium quotes: pure rules over plain data (no Flask, no database).

For each person a member wants to insure: are they eligible (basic insurance active in the
product's region, window open, relation allowed, not already insured this plan year), what is
the premium, which subsidies apply (a subsidy is a funding source on the order; the sponsorship
programmes supply `SubsidyOffer`s in priority order), and what is left to pay. Then which payment
methods can pay the remainder: the personal account only for an employee-insured payer with an
account and only for the relations the product allows (家庭共济), each plausible by the two birth
dates, with one spouse on the payer's list (app/members/relation_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.common.clock import age_on as age_on
from app.members.relation_rules import Party, family_pool_refusal
from app.products.definition import ProductDefinition
from app.products.plan_years import cover_period
from app.sponsors.rules import SubsidyOffer as SubsidyOffer

# SubsidyOffer (what a sponsorship programme offers) is sponsors' type, since enrollment sits
# above sponsors, and age_on a calendar helper (app/common/clock.py); both stay importable from
# here, as the quote's vocabulary, for the callers that build candidates and offers.


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Candidate:
    person_id: int
    relation: str  # "self" or the relation to the member
    birth_date: date
    insurance_type: str | None  # employee | resident
    insurance_status: str | None  # active | suspended
    region_code: str | None
    already_insured: bool  # an active policy or an open order this plan year
    gender: str | None = None  # "1" / "2" (only a spouse's marriage age reads it)


@dataclass(frozen=True)
class Payer:
    insurance_type: str | None
    insurance_status: str | None
    has_personal_account: bool
    account_balance_fen: int | None = None  # as the bureau reported it; None: not known
    # The payer as the relation rules see them (家庭共济), and the spouses on their list of
    # relatives. Every member's payer carries a birth date; a payer without one (an
    # organisation's roster, a fully sponsored redemption) pays with no personal account.
    birth_date: date | None = None
    gender: str | None = None
    spouses_listed: int = 0

    @property
    def party(self) -> Party | None:
        return Party(self.birth_date, self.gender) if self.birth_date is not None else None


@dataclass(frozen=True)
class AppliedSubsidy:
    programme_id: int
    funder_name: str
    funder_kind: str
    amount_fen: int


@dataclass(frozen=True)
class QuoteLine:
    person_id: int
    relation: str
    eligible: bool
    reasons: tuple[Reason, ...]
    premium_fen: int
    subsidies: tuple[AppliedSubsidy, ...]
    subsidy_fen: int
    pay_fen: int


@dataclass(frozen=True)
class Quote:
    product_code: str
    plan_year: int
    coverage_start: date  # when cover paid for today starts (the plan year's rule)
    coverage_end: date
    lines: tuple[QuoteLine, ...]
    total_premium_fen: int
    total_subsidy_fen: int
    total_pay_fen: int
    payment_methods: tuple[str, ...]
    unavailable_methods: dict[str, Reason] = field(default_factory=dict)
    account_balance_fen: int | None = None  # the payer's personal account, when known

    @property
    def all_eligible(self) -> bool:
        return all(line.eligible for line in self.lines)


WINDOW_CLOSED = Reason("window_closed", "当前不在投保期内")
NOT_INSURED = Reason("basic_insurance_missing", "未查询到本市基本医疗保险参保信息")
SUSPENDED = Reason("basic_insurance_suspended", "基本医疗保险处于暂停参保状态，恢复参保后方可投保")
OUTSIDE_REGION = Reason("region_not_covered", "非本市基本医疗保险参保人员，不在投保范围内")
ALREADY_INSURED = Reason("already_insured", "本保障年度已投保或有未完成的投保订单")
RELATION_NOT_ALLOWED = Reason("relation_not_allowed", "本产品不支持为该关系的家属投保")


def _eligibility(defn: ProductDefinition, today: date, c: Candidate) -> tuple[Reason, ...]:
    reasons = []
    if not defn.window_open_on(today):
        reasons.append(WINDOW_CLOSED)
    if c.relation not in defn.insured_relations:
        reasons.append(RELATION_NOT_ALLOWED)
    if c.insurance_status is None or c.insurance_type is None:
        reasons.append(NOT_INSURED)
    elif c.insurance_status != "active":
        reasons.append(SUSPENDED)
    if c.region_code is not None and not c.region_code.startswith(defn.region_prefix):
        reasons.append(OUTSIDE_REGION)
    if c.already_insured:
        reasons.append(ALREADY_INSURED)
    return tuple(reasons)


def _apply_subsidies(premium: int, offers: list[SubsidyOffer]) -> tuple[AppliedSubsidy, ...]:
    """In the order given (the programmes' priority), each pays up to what is still due."""
    applied, due = [], premium
    for offer in offers:
        if due <= 0:
            break
        amount = min(max(offer.amount_fen, 0), due)
        if amount > 0:
            applied.append(
                AppliedSubsidy(offer.programme_id, offer.funder_name, offer.funder_kind, amount)
            )
            due -= amount
    return tuple(applied)


def personal_account_refusal(
    defn: ProductDefinition, payer: Payer, paid_for: list[tuple[str, Party]], today: date
) -> Reason | None:
    """Why the payer's personal account may not pay for these people (家庭共济), or None.
    `paid_for`: (relation to the payer, the person) for each person it would pay for. Used by
    the quote and again when a payment is started (the method may change, and relatives stored
    before the relation rules may break them)."""
    if not (payer.insurance_type == "employee" and payer.has_personal_account):
        return Reason("personal_account_unavailable", "仅职工医保参保人可使用个人账户支付")
    if payer.insurance_status != "active":
        return Reason("personal_account_suspended", "医保暂停参保期间不能使用个人账户支付")
    if any(relation not in defn.family_pool_relations for relation, _ in paid_for):
        return Reason("family_pool_relation", "个人账户家庭共济仅可为本人、配偶、父母、子女支付")
    if payer.party is not None:
        refusal = family_pool_refusal(
            payer.party, paid_for, spouses_listed=payer.spouses_listed, today=today
        )
        if refusal is not None:
            return Reason(refusal.code, refusal.message)
    return None


def balance_refusal(payer: Payer, pay_total: int) -> Reason | None:
    """The account holds less than is to be paid (when the balance is known)."""
    balance = payer.account_balance_fen
    if balance is None or balance >= pay_total:
        return None
    return Reason(
        "personal_account_insufficient_balance",
        f"医保个人账户余额 {balance // 100}.{balance % 100:02d} 元，不足以支付 "
        f"{pay_total // 100}.{pay_total % 100:02d} 元，请选择其他支付方式",
    )


def _methods(
    defn: ProductDefinition,
    payer: Payer,
    lines: list[QuoteLine],
    pay_total: int,
    people: dict[int, Party],
    today: date,
) -> tuple[tuple[str, ...], dict[str, Reason]]:
    """The methods the payer may name as POST /orders' payment_method, and why others are not
    offered. Nothing to pay (sponsors pay it all): none, the order takes no method. The sponsor
    pays through the subsidies on the lines, never as a method a member picks."""
    available: list[str] = []
    unavailable: dict[str, Reason] = {}
    if pay_total == 0:
        return (), {}
    for method in defn.payment_methods:
        if method == "sponsor":
            continue
        if method == "personal_account":
            paid_for = [(l.relation, people[l.person_id]) for l in lines if l.pay_fen > 0]
            refusal = personal_account_refusal(defn, payer, paid_for, today)
            if refusal is None:
                refusal = balance_refusal(payer, pay_total)
            if refusal is not None:
                unavailable[method] = refusal
                continue
        available.append(method)
    return tuple(available), unavailable


def quote(
    defn: ProductDefinition,
    today: date,
    payer: Payer,
    candidates: list[Candidate],
    offers: list[SubsidyOffer] | None = None,
) -> Quote:
    offers = offers or []
    lines: list[QuoteLine] = []
    for c in candidates:
        reasons = _eligibility(defn, today, c)
        premium = defn.premium_for(
            insurance_type=c.insurance_type, age=age_on(c.birth_date, defn.coverage_starts)
        )
        eligible = not reasons
        subsidies = (
            _apply_subsidies(premium, [o for o in offers if o.person_id == c.person_id])
            if eligible
            else ()
        )
        subsidy = sum(s.amount_fen for s in subsidies)
        lines.append(
            QuoteLine(
                person_id=c.person_id,
                relation=c.relation,
                eligible=eligible,
                reasons=reasons,
                premium_fen=premium,
                subsidies=subsidies,
                subsidy_fen=subsidy,
                pay_fen=premium - subsidy if eligible else 0,
            )
        )
    eligible_lines = [l for l in lines if l.eligible]
    total_premium = sum(l.premium_fen for l in eligible_lines)
    total_subsidy = sum(l.subsidy_fen for l in eligible_lines)
    total_pay = total_premium - total_subsidy
    people = {c.person_id: Party(c.birth_date, c.gender) for c in candidates}
    methods, unavailable = _methods(defn, payer, eligible_lines, total_pay, people, today)
    start, end = cover_period(defn, today)
    return Quote(
        product_code=defn.code,
        plan_year=defn.plan_year,
        coverage_start=start,
        coverage_end=end,
        lines=tuple(lines),
        total_premium_fen=total_premium,
        total_subsidy_fen=total_subsidy,
        total_pay_fen=total_pay,
        payment_methods=methods,
        unavailable_methods=unavailable,
        account_balance_fen=payer.account_balance_fen if payer.has_personal_account else None,
    )
