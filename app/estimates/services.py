"""The value estimate ("what last year would have paid", issue 17): with the member's separate
consent, the bureau's settlement records of the member and of each verified relative for the
last plan year, run as if covered by the product on sale (app/claims/as_if_covered.py), per
person and in total, with the premium for comparison.

Privacy: the records and fee lines live only in this request (nothing fetched is written); the
consent, its withdrawal and each person's fetch are audit rows without personal data; the
fetch is rate-limited as identity checks are. Counters: `estimates_shown` per estimate, and
`estimates_converted` when a member shown one enrolls someone new to the cover in that plan year,
not a renewal (app/disclosure)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import ratelimit
from app.adjudication.model import PolicyCover
from app.audit.services import record as audit
from app.claims import as_if_covered
from app.common.clock import age_on, today_shanghai
from app.database import read_scope, transaction, utcnow
from app.disclosure import aggregates
from app.error_catalogue import E
from app.estimates import rules
from app.members import privacy
from app.members.models import Consent, Member, Person, Relative
from app.members.services import GUARDIAN_CONSENT_AGE
from app.products import services as products
from app.products.models import Product

GRANTED, WITHDRAWN = "value_estimate", "value_estimate_withdrawn"


# --- consent ------------------------------------------------------------------------------------


def _latest_consent(session: Session, member_id: int) -> Consent | None:
    return session.scalar(
        select(Consent)
        .where(Consent.member_id == member_id, Consent.purpose.in_((GRANTED, WITHDRAWN)))
        .order_by(Consent.id.desc())
        .limit(1)
    )


def consent_status(member_id: int) -> dict:
    with read_scope() as s:
        latest = _latest_consent(s, member_id)
    return {
        "granted": latest is not None and latest.purpose == GRANTED,
        "text_version": latest.text_version if latest is not None else None,
        "recorded_at": latest.granted_at if latest is not None else None,
        "current_text_version": current_app.config["ESTIMATE_CONSENT_TEXT_VERSION"],
    }


def _change_consent(member_id: int, purpose: str, text_version: str, action: str) -> None:
    with transaction() as s:
        member = s.get(Member, member_id)
        if member is None:
            raise E.member_not_found()
        latest = _latest_consent(s, member_id)
        if purpose == WITHDRAWN and (latest is None or latest.purpose != GRANTED):
            raise E.estimate_consent_not_given()
        privacy.record_consent(s, member, purpose, text_version, action)


def grant_consent(member_id: int, accepted: bool, text_version: str) -> dict:
    if not accepted:
        raise E.estimate_consent_required()
    current = current_app.config["ESTIMATE_CONSENT_TEXT_VERSION"]
    if text_version != current:  # a consent is to the text shown, not to any string
        raise E.estimate_consent_outdated(
            f"查询去年医保结算记录的授权说明当前版本为 {current}，请重新阅读并同意"
        )
    _change_consent(member_id, GRANTED, text_version, "estimate.consent_granted")
    return consent_status(member_id)


def withdraw_consent(member_id: int) -> dict:
    with read_scope() as s:
        latest = _latest_consent(s, member_id)
        version = latest.text_version if latest is not None else ""
    _change_consent(member_id, WITHDRAWN, version, "estimate.consent_withdrawn")
    return consent_status(member_id)


# --- whose years ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """One person of the family as the estimate sees them."""

    person_id: int
    relation: str  # "self" or the relative's relation
    name: str
    psn_no: str | None
    excluded: str | None = None  # why no records are fetched for them


def _subjects(session: Session, member: Member, insured_relations: tuple[str, ...]) -> list:
    assert member.person is not None
    out = [Subject(member.person.id, "self", member.person.name, member.person.psn_no)]
    today = today_shanghai()
    for rel in session.scalars(
        select(Relative).where(Relative.member_id == member.id).order_by(Relative.id)
    ):
        person = rel.person
        excluded = None
        if not person.psn_no or person.verified_at is None:
            excluded = "该家属尚未完成医保身份核验，不查询其结算记录"
        elif age_on(person.birth_date, today) < GUARDIAN_CONSENT_AGE and not _guardian_of(
            session, member.id, rel
        ):
            excluded = "未满14周岁的子女，须由作为监护人并已同意的本人查询"
        elif rel.relation not in insured_relations:
            excluded = "在售产品不承保该亲属关系，不查询其结算记录"
        out.append(Subject(person.id, rel.relation, person.name, person.psn_no, excluded))
    return out


def _guardian_of(session: Session, member_id: int, rel: Relative) -> bool:
    """The member is the guardian who consented for this child (the guardian consent row is
    the member's own, about this person)."""
    if rel.guardian_consent_id is None:
        return False
    row = session.get(Consent, rel.guardian_consent_id)
    return (
        row is not None
        and row.purpose == "guardian"
        and row.member_id == member_id
        and row.subject_person_id == rel.person_id
    )


# --- the estimate -----------------------------------------------------------------------------


def _require_consent(session: Session, member_id: int) -> Consent:
    latest = _latest_consent(session, member_id)
    if latest is None:
        raise E.estimate_consent_required()
    if latest.purpose != GRANTED:
        raise E.estimate_consent_withdrawn()
    return latest


def _rate_limit(member_id: int, people: list[tuple[Subject, str]]) -> None:
    cfg = current_app.config
    ratelimit.hit_all(
        [
            (cfg["RATE_LIMIT_ESTIMATE_PER_USER"], "estimate-member", str(member_id)),
            *(
                (cfg["RATE_LIMIT_ESTIMATE_PER_TARGET"], "estimate-target", index)
                for _, index in people
            ),
            (cfg["RATE_LIMIT_ESTIMATE_GLOBAL"], "estimate-global", "all"),
        ]
    )


def value_estimate(member_id: int) -> dict:
    """The estimate for the member's family, as plain data for the response."""
    from app.integrations.registry import bureau

    today = today_shanghai()
    with read_scope() as s:  # ended before the bureau calls
        member, latest_consent = privacy.member_and_consent(s, member_id)
        privacy.refuse_if_withdrawn(member, latest_consent, "value_estimate")
        if member is None:
            raise E.member_not_found()
        if member.person is None:
            raise E.identity_not_verified(status=403)
        _require_consent(s, member_id)
        product = products.current_product(today)
        if product is None:
            raise E.product_not_found("当前没有开放投保的产品")
        product_id = product.id
        definition = products.definition_of(product)
        subjects = _subjects(s, member, definition.insured_relations)
        fetchable = [(x, person_index_of(s, x.person_id)) for x in subjects if x.excluded is None]
    period = rules.past_period(
        definition.plan_year, definition.coverage_starts, definition.coverage_ends, today
    )
    _rate_limit(member_id, fetchable)
    fetched: dict[int, list[as_if_covered.Fetched]] = {}
    if period is not None:
        for subject, _ in fetchable:
            assert subject.psn_no is not None
            fetched[subject.person_id] = as_if_covered.fetch(
                bureau(), subject.psn_no, period.start, period.end
            )
            with transaction() as t:  # one audit row per person fetched, no personal data
                audit(
                    t,
                    actor_type="member",
                    actor_id=member_id,
                    action="estimate.records_fetched",
                    object_type="person",
                    object_id=subject.person_id,
                    detail={
                        "relation": subject.relation,
                        "plan_year": period.plan_year,
                        "records": len(fetched[subject.person_id]),
                    },
                )
    with read_scope() as s:
        product = s.get(Product, product_id)
        assert product is not None
        catalogues = _catalogue_product_id(s, product, definition.renews, period)
        people = [
            _person_answer(s, product, period, x, fetched.get(x.person_id), catalogues)
            for x in subjects
        ]
    with transaction() as t:
        aggregates.record_estimate_shown(t, product_id, definition.plan_year, today)
        audit(
            t,
            actor_type="member",
            actor_id=member_id,
            action=aggregates.ESTIMATE_SHOWN_ACTION,
            object_type="product",
            object_id=product_id,
            detail={"plan_year": definition.plan_year, "people": len(fetched)},
        )
    included = [p for p in people if p["included"]]
    return {
        "product_code": product.code,
        "product_name": definition.name,
        "plan_year": definition.plan_year,
        "period": (
            None
            if period is None
            else {
                "plan_year": period.plan_year,
                "start": period.start,
                "end": period.end,
                "to_date": period.to_date,
            }
        ),
        "people": people,
        "total": {
            "payable_fen": sum(p["payable_fen"] for p in included),
            "premium_fen": sum(p["premium_fen"] for p in included),
            "by_bucket": _buckets(rules.by_bucket(p["by_bucket_map"] for p in included)),
        },
        "notice": rules.NOTICE,
        "computed_at": utcnow(),
    }


def person_index_of(session: Session, person_id: int) -> str:
    """The person's blind index (the rate limit's key: never the ID number)."""
    person = session.get(Person, person_id)
    assert person is not None
    return person.id_number_index


def _buckets(amounts: dict[str, int]) -> list[dict]:
    return [{"bucket": k, "payable_fen": v} for k, v in amounts.items()]


def _catalogue_product_id(
    s: Session, product: Product, renews: str | None, period: rules.Period | None
) -> int:
    """Whose catalogues (商保目录, 特药目录) the past year's fee lines are matched against: those
    in force on the date of care, i.e. of the product that covered that year. When next year's
    product is on sale, that is the product it renews (next year's own catalogues start with
    its cover, so none of them is in force on last year's dates)."""
    if period is None or period.plan_year == product.plan_year or not renews:
        return product.id
    past = s.scalar(select(Product).where(Product.code == renews))
    return past.id if past is not None and past.plan_year == period.plan_year else product.id


def _person_answer(
    s: Session,
    product: Product,
    period: rules.Period | None,
    subject: Subject,
    fetched: list[as_if_covered.Fetched] | None,
    catalogue_product_id: int | None = None,
) -> dict:
    definition = products.definition_of(product)
    person = s.get(Person, subject.person_id)
    assert person is not None
    premium = definition.premium_for(
        insurance_type=person.insurance_type, age=age_on(person.birth_date, today_shanghai())
    )
    base = {
        "person_id": subject.person_id,
        "relation": subject.relation,
        "name": subject.name,
        "included": subject.excluded is None,
        "excluded_reason": subject.excluded,
        "premium_fen": premium,
    }
    if subject.excluded is not None or period is None or fetched is None:
        return base | {
            "payable_fen": 0,
            "by_bucket": [],
            "by_bucket_map": {},
            "records": [],
            "why_nothing": subject.excluded or "该保障年度尚未开始",
        }
    cover = PolicyCover(
        coverage_starts=period.start, coverage_ends=period.cover_ends, status="active"
    )
    outcomes = as_if_covered.run_year(s, person, product, cover, fetched, catalogue_product_id)
    records, figures = [], []
    for o in outcomes:
        record_buckets = _record_buckets(o)
        figures.append(
            rules.RecordFigures(
                payable_fen=o.payable_fen,
                run=o.result is not None,
                by_bucket=record_buckets,
                deductible_fen=sum(b.deductible_fen for b in o.result.buckets) if o.result else 0,
                counted_fen=sum(b.counted_fen for b in o.result.buckets) if o.result else 0,
            )
        )
        records.append(_record_answer(o, record_buckets))
    totals = rules.by_bucket(f.by_bucket for f in figures)
    return base | {
        "payable_fen": sum(o.payable_fen for o in outcomes),
        "by_bucket": _buckets(totals),
        "by_bucket_map": totals,
        "records": records,
        "why_nothing": rules.why_nothing(figures),
    }


def _record_buckets(o: as_if_covered.RecordOutcome) -> dict[str, int]:
    """The record's payable by bucket; a supplement's difference is the episode's (no bucket
    split of a difference): it is shown under the first bucket that paid."""
    if o.result is None or not o.payable_fen:
        return {}
    paying = {b.bucket: b.payable_fen for b in o.result.buckets if b.payable_fen}
    if sum(paying.values()) == o.payable_fen:
        return paying
    first = next(iter(paying), "episode")
    return {first: o.payable_fen}


def _record_answer(o: as_if_covered.RecordOutcome, buckets: dict[str, int]) -> dict:
    r = o.record
    lines = []
    if o.result is not None:
        lines = [
            {"code": l.code, "zh": l.zh, "en": l.en, "bucket": l.bucket} for l in o.result.lines
        ]
    lines += list(o.episode_lines)
    return {
        "setl_id": r.setl_id,
        "care_kind": r.care_kind,
        "care_start": r.begndate,
        "care_end": r.enddate,
        "hospital_name": r.fixmedins_name,
        "diagnosis": r.dise_name,
        "medfee_sumamt_fen": r.medfee_sumamt_fen,
        "decision": o.result.decision if o.result is not None else None,
        "payable_fen": o.payable_fen,
        "by_bucket": _buckets(buckets),
        "skipped_reason": o.skipped,
        "lines": lines,
    }
