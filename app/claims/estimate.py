"""The claim estimate (理赔试算): what a claim would pay now, from typed amounts or a bureau
settlement record, against the person's current accumulators; it changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adjudication.engine import adjudicate as run_engine
from app.adjudication.model import Accumulators, Adjudication, Insured
from app.catalogues.matching import FeeLine, LineMatch
from app.claims import accumulators, rules
from app.claims import lines as claim_lines
from app.claims.adjudication_run import engine_claim, insured_of, policy_cover, refresh_person
from app.claims.common import actable_policy, existing
from app.claims.intake import checked_amounts
from app.claims.settlement import policy_person, settlement_record
from app.database import read_scope
from app.members import privacy
from app.members.models import Person
from app.policies.models import Policy
from app.products.definition import ProductDefinition
from app.products.models import Product
from app.products.services import definition_by_id, definition_of


def estimate(
    member_id: int,
    *,
    policy_id: int,
    amounts: dict | None = None,
    care_kind: str | None = None,
    care_date: date | None = None,
    setl_id: str | None = None,
    pre_existing: bool = False,
    diagnosis_code: str | None = None,
) -> Adjudication:
    """What a claim would pay now, against the person's current accumulators; changes nothing
    (but a stale identity is re-verified with the bureau first, as the claim does). From a
    settlement record, its fee lines are matched against the catalogues in force, as a one-tap
    claim's would be (and its diagnosis is the record's)."""
    with read_scope() as s:  # ended before the bureau call
        privacy.refuse_if_withdrawn(*privacy.member_and_consent(s, member_id), "new_claim")
        person_id = actable_policy(s, member_id, policy_id).person_id
    refresh_person(member_id, person_id, f"estimate on policy {policy_id}")
    fee_lines: list[FeeLine] | None = None
    dispensed: tuple[str, ...] = ()
    diagnosis: tuple[str | None, str | None] = (diagnosis_code, None)
    if setl_id is not None:
        from app.integrations.registry import bureau

        with read_scope() as s:  # ended before the bureau call
            policy, _, psn_no = policy_person(s, member_id, policy_id)
            providers = definition_of(existing(s, Product, policy.product_id)).settlement_providers
        record = settlement_record(bureau(), psn_no, setl_id)
        amounts, care_kind, care_date = (
            rules.settlement_amounts(record, providers),
            record.care_kind,
            record.begndate,
        )
        fee_lines = claim_lines.bureau_fee_lines(bureau(), psn_no, record)
        dispensed = (record.fixmedins_code, record.fixmedins_name)
        diagnosis = (record.dise_codg, record.dise_name)
    with read_scope() as s:  # reads only: the engine's answer leaves as plain data
        return _estimate(
            s,
            member_id,
            policy_id,
            amounts,
            care_kind,
            care_date,
            pre_existing,
            (fee_lines, dispensed),
            diagnosis,
        )


def _estimate(
    s: Session,
    member_id: int,
    policy_id: int,
    amounts: dict | None,
    care_kind: str | None,
    care_date: date | None,
    pre_existing: bool,
    itemised: tuple[list[FeeLine] | None, tuple[str, ...]] = (None, ()),
    diagnosis: tuple[str | None, str | None] = (None, None),
) -> Adjudication:
    policy = actable_policy(s, member_id, policy_id)
    health = "pre_existing" if pre_existing else "healthy"
    return quote(s, policy, amounts, care_kind, care_date, health, itemised, diagnosis=diagnosis)


def quote(
    s: Session,
    policy: Policy,
    amounts: dict | None,
    care_kind: str | None,
    care_date: date | None,
    health: str,
    itemised: tuple[list[FeeLine] | None, tuple[str, ...]] = (None, ()),
    admission_id: str | None = None,
    *,
    diagnosis: tuple[str | None, str | None] = (None, None),
) -> Adjudication:
    """The engine on these amounts (and itemised lines) against the person's current
    accumulators, explained; reads only. The estimate and the hospital's trial settlement
    (app/direct_settlement) both quote through it."""
    person = existing(s, Person, policy.person_id)
    year = s.scalar(
        select(accumulators.AccumulatorYear).where(
            accumulators.AccumulatorYear.person_id == person.id,
            accumulators.AccumulatorYear.product_id == policy.product_id,
            accumulators.AccumulatorYear.plan_year == policy.plan_year,
        )
    )
    acc = accumulators.read(s, year) if year is not None else None
    full: dict[str, Any] = {k: 0 for k in rules.AMOUNT_FIELDS} | dict(amounts or {})
    by_kind = full.pop("amounts", None)
    if by_kind is not None:  # typed by kind: checked against the product, `amounts` wins
        columns, other = rules.split_amounts(checked_amounts(s, policy.product_id, by_kind))
        full |= columns
        full["other_amounts"] = {**full.get("other_amounts", {}), **other}
    definition = definition_by_id(s, policy.product_id)
    fee_lines, dispensed = itemised
    matched = None
    if fee_lines and care_date is not None:
        matched = claim_lines.match(
            s,
            policy.product_id,
            definition,
            care_date,
            fee_lines,
            dispensed,
            claim_lines.CapHolder(policy.person_id, policy.plan_year),
        )
    return quote_on(
        definition,
        policy,
        full,
        care_kind,
        care_date,
        insured_of(s, person, health, policy.plan_year, care_date),
        acc,
        matched,
        admission_id,
        diagnosis=diagnosis,
    )


def quote_on(
    definition: ProductDefinition,
    policy: Policy,
    amounts: dict[str, Any],
    care_kind: str | None,
    care_date: date | None,
    insured: Insured,
    acc: Accumulators | None,
    matched: LineMatch | None,
    admission_id: str | None = None,
    *,
    diagnosis: tuple[str | None, str | None] = (None, None),
) -> Adjudication:
    """The engine and the explanation on what `quote` read (all AMOUNT_FIELDS in `amounts`);
    the matched lines' out-of-policy and special-drug amounts replace the typed ones.
    `diagnosis` (ICD-10 code, name) decides a chronic out-patient visit's class."""
    if matched is not None:
        amounts = amounts | {
            "out_of_policy_self_pay_fen": matched.out_of_policy_self_pay_fen,
            "special_drugs_fen": matched.special_drugs_fen,
        }
    result = run_engine(
        definition,
        engine_claim(
            amounts,
            care_kind,
            care_date,
            admission_id,
            claim_lines.engine_lines(matched),
            diagnosis,
        ),
        policy_cover(policy),
        insured,
        acc,
    )
    return claim_lines.explained(result, matched, definition)
