"""The adjudication run: the pure engine (app/adjudication) against the person's accumulators,
fraud flags, routing of the outcome (approved / pending_review / rejected), settling the
accumulators on approval; `process` (adjudicate, then pay) and the maintenance re-runs.

Settling is optimistic: the accumulator year's version is bumped with a conditional UPDATE,
and a stale version re-runs the engine (up to SETTLE_ATTEMPTS times).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.adjudication.engine import adjudicate as run_engine
from app.adjudication.model import (
    Accumulators,
    Adjudication,
    BasicInsurance,
    ClaimLine,
    Insured,
    PolicyCover,
    basic_insurance_on,
)
from app.adjudication.model import Claim as EngineClaim
from app.adjudication.reasons import DENY
from app.catalogues.matching import LineMatch
from app.claims import accumulators, rules, supplements
from app.claims import lines as claim_lines
from app.claims.common import claim_by_id, disclose_settled, existing, notify, transition
from app.claims.episodes import supplement_payable
from app.claims.line_sources import claim_lines as filed_lines
from app.claims.models import Claim, ClaimInvoice, ClaimLedgerEntry
from app.claims.payouts import pay
from app.claims.statuses import ClaimStatus
from app.common.money import yuan_plain
from app.database import get_session, read_scope, transaction, utcnow
from app.error_catalogue import E
from app.errors import DomainError, UpstreamUnavailable, ValidationFailed
from app.identity.periods import InsuranceHistory
from app.identity.services import insurance_history, is_stale, reverify
from app.members.models import Person
from app.ops.metrics import claim_outcome
from app.policies.models import Policy, PolicyStatus
from app.products.services import definition_by_id

log = logging.getLogger(__name__)

SETTLE_ATTEMPTS = 8
# Claims whose money has been settled: a re-run only reports them.
SETTLED = (ClaimStatus.APPROVED, ClaimStatus.PAID, ClaimStatus.CLOSED)


def _renewal_years(session: Session, person_id: int, plan_year: int) -> int:
    years = set(
        session.scalars(
            select(Policy.plan_year).where(
                Policy.person_id == person_id,
                Policy.plan_year < plan_year,
                Policy.status != PolicyStatus.VOID,
            )
        )
    )
    return renewal_years(years, plan_year)


def renewal_years(earlier_years: set[int], plan_year: int) -> int:
    """How many plan years in a row before `plan_year` the person held a (not void) policy."""
    n = 0
    while plan_year - n - 1 in earlier_years:
        n += 1
    return n


def claim_amounts(claim: Claim) -> dict:
    """The claim's AMOUNT_FIELDS and its other amounts (kind -> fen), as engine_claim takes."""
    amounts: dict = {k: getattr(claim, k) for k in rules.AMOUNT_FIELDS}
    amounts["other_amounts"] = dict(claim.other_amounts or {})
    return amounts


def engine_claim(
    amounts: dict,
    care_kind: str | None,
    care_date: date | None,
    admission_id: str | None,
    lines: tuple[ClaimLine, ...] = (),
    diagnosis: tuple[str | None, str | None] = (None, None),
) -> EngineClaim:
    """The engine's view of a claim. Kind and date are set by then: a submitted claim passed
    the completeness check (or came from a bureau record), an estimate's schema requires them.
    `diagnosis` is (ICD-10 code, name): a chronic out-patient visit is covered only for a
    class-one condition the product lists."""
    assert care_kind is not None and care_date is not None, "claim without kind or date"
    other = {k: v for k, v in (amounts.get("other_amounts") or {}).items() if v}
    return EngineClaim(
        care_kind=care_kind,
        care_date=care_date,
        medfee_sumamt_fen=amounts["medfee_sumamt_fen"],
        hifp_pay_fen=amounts["hifp_pay_fen"],
        hifmi_pay_fen=amounts["hifmi_pay_fen"],
        hifob_pay_fen=amounts["hifob_pay_fen"],
        maf_pay_fen=amounts["maf_pay_fen"],
        in_policy_self_pay_fen=amounts["in_policy_self_pay_fen"],
        out_of_policy_self_pay_fen=amounts["out_of_policy_self_pay_fen"],
        special_drugs_fen=amounts["special_drugs_fen"],
        proton_heavy_ion_fen=other.pop("proton_heavy_ion", 0),
        other_amounts_fen=other,
        lines=lines,
        admission_id=admission_id,
        diagnosis_code=diagnosis[0] or None,
        diagnosis_name=diagnosis[1] or "",
    )


def insured_of(
    session: Session, person: Person, health: str, plan_year: int, care_date: date | None
) -> Insured:
    """The person cared for, with their basic insurance on the DATE OF CARE (`insured_from`)."""
    history = insurance_history(session, person.id) if care_date is not None else None
    return insured_from(
        person, health, care_date, history, _renewal_years(session, person.id, plan_year)
    )


def insured_from(
    person: Person,
    health: str,
    care_date: date | None,
    history: InsuranceHistory | None,
    healthy_renewal_years: int,
) -> Insured:
    """The insured from what was read: basic insurance from the bureau's answers kept as history
    (a suspension in the past counts after a reinstatement), and from today's snapshot where the
    history says nothing for that day (before the first answer, or after the latest one: the
    snapshot is the newest word) or there is no date."""
    basic = None
    if care_date is not None and history is not None:
        if history.status_on(care_date).basis not in ("carried_forward", "no_answer"):
            basic = basic_insurance_on(history, care_date)
    if basic is None:
        suspended = person.insurance_status == "suspended"
        basic = BasicInsurance(
            status="suspended" if suspended else "active",
            suspended_from=person.suspended_since if suspended else None,
        )
    return Insured(
        basic_insurance=basic, health=health, healthy_renewal_years=healthy_renewal_years
    )


def policy_cover(policy: Policy) -> PolicyCover:
    return PolicyCover(
        coverage_starts=policy.coverage_start,
        coverage_ends=policy.coverage_end,
        status=policy.status,
    )


def run_claim(session: Session, claim: Claim, acc: Accumulators) -> Adjudication:
    return run_claim_matched(session, claim, acc)[0]


def run_claim_matched(
    session: Session, claim: Claim, acc: Accumulators
) -> tuple[Adjudication, LineMatch | None]:
    """The engine on the claim, explained, and its itemised lines as matched (None: none)."""
    policy = existing(session, Policy, claim.policy_id)
    person = existing(session, Person, claim.person_id)
    definition = definition_by_id(session, claim.product_id)
    matched = claim_lines.rematch(session, claim, definition)  # itemised lines, when it has any
    amounts = claim_amounts(claim)
    # The bureau's or the hospital's itemised lines (matched against the catalogues), and any a
    # filing capability carries (a special-drug purchase's drug line, hook claims.claim_lines).
    lines = claim_lines.engine_lines(matched) + filed_lines(session, claim)
    result = run_engine(
        definition,
        engine_claim(
            amounts,
            claim.care_kind,
            claim.admitted_on,
            claim.mdtrt_id or claim.claim_no,
            lines,
            (claim.diagnosis_code, claim.diagnosis),
        ),
        policy_cover(policy),
        insured_of(session, person, claim.health, claim.plan_year, claim.admitted_on),
        acc,
    )
    return claim_lines.explained(result, matched, definition), matched


def run_episode(
    session: Session,
    claim: Claim,
    year: accumulators.AccumulatorYear,
    *,
    without_own_use: bool = False,
) -> supplements.EpisodeRun:
    """The engine on the claim; for a later claim of an episode already settled, the episode
    recomputed (without the settled claims' accumulator use) and only the difference payable.
    `without_own_use`: a settled claim re-run (a report) without what it added itself."""
    acc = accumulators.read(session, year)
    if without_own_use:
        acc = supplements.without(acc, [claim.applied_deltas or {}])
    settled = [
        c
        for c, _ in supplements.same_episode_claims(session, claim)
        if c.status in supplements.SETTLED
    ]
    if not settled:
        result, matched = run_claim_matched(session, claim, acc)
        return supplements.EpisodeRun(
            result, result.payable_fen, accumulators.deltas_to_json(result.deltas), matched
        )
    applied = [c.applied_deltas or {} for c in settled]
    result, matched = run_claim_matched(session, claim, supplements.without(acc, applied))
    previous = sum(c.approved_fen or 0 for c in settled)
    recomputed = result.payable_fen if result.decision != "not_payable" else 0
    payable = supplement_payable(previous, recomputed)
    nos = tuple(c.claim_no for c in settled)
    return supplements.EpisodeRun(
        result,
        payable,
        supplements.net_deltas(accumulators.deltas_to_json(result.deltas), applied),
        matched,
        supplement_of=nos,
        previous_fen=previous,
        recomputed_fen=recomputed,
        lines=supplements.supplement_lines("、".join(nos), previous, recomputed, payable),
    )


def adjudication_json(result: Adjudication) -> dict:
    return {
        "decision": result.decision,
        "payable_fen": result.payable_fen,
        "reason_codes": list(result.reason_codes),
        "lines": [
            {"code": l.code, "zh": l.zh, "en": l.en, "bucket": l.bucket} for l in result.lines
        ],
        "buckets": [
            {
                "bucket": b.bucket,
                "name": b.name,
                "counted_fen": b.counted_fen,
                "excluded_fen": b.excluded_fen,
                "deductible_fen": b.deductible_fen,
                "after_ratio_fen": b.after_ratio_fen,
                "after_sub_caps_fen": b.after_sub_caps_fen,
                "payable_fen": b.payable_fen,
            }
            for b in result.buckets
        ],
    }


def record_figure(
    claim: Claim, run: supplements.EpisodeRun, version: int, adjudication: dict | None = None
) -> None:
    """The run's figure and explanation on the claim, with the accumulator version it was
    computed against (claims/figure.py tells a stale figure by it). `adjudication`: the
    explanation when it is more than the run's own (approval's notes)."""
    claim.decision, claim.payable_fen = run.result.decision, run.payable_fen
    claim.adjudication = adjudication or run.adjudication(adjudication_json(run.result))
    claim.adjudicated_version = version


def fraud_check(session: Session, claim: Claim, person: Person, policy: Policy) -> list[rules.Flag]:
    """The fraud checks a submitted claim meets before any automatic payment (each flag sends
    it to a reviewer). The hospital counter runs the same on the claim it would settle."""
    cfg = current_app.config
    others = Claim.id != claim.id
    duplicate_invoices = []
    for inv in claim.invoices:
        seen = session.scalar(
            select(func.count())
            .select_from(ClaimInvoice)
            .join(Claim, Claim.id == ClaimInvoice.claim_id)
            .where(
                ClaimInvoice.number_digest == inv.number_digest,  # a purged number's too
                others,
                Claim.status != ClaimStatus.DRAFT,
            )
        )
        if seen:
            duplicate_invoices.append(f"{inv.issuer}/{inv.number}")
    duplicate_setl = claim.setl_digest is not None and bool(
        session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(
                Claim.setl_digest == claim.setl_digest, others, Claim.status != ClaimStatus.DRAFT
            )
        )
    )
    window = cfg["CLAIMS_FREQUENCY_WINDOW_DAYS"]
    since = utcnow() - timedelta(days=window)
    recent = session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(Claim.person_id == person.id, others, Claim.submitted_at >= since)
    )
    episode = supplements.same_episode_claims(session, claim)
    return fraud_flags_of(
        claim,
        person,
        policy,
        duplicate_invoices=tuple(duplicate_invoices),
        duplicate_settlement=duplicate_setl,
        claims_in_window=recent or 0,
        episode=episode,
    )


def fraud_flags_of(
    claim: Claim,
    person: Person,
    policy: Policy,
    *,
    duplicate_invoices: tuple[str, ...],
    duplicate_settlement: bool,
    claims_in_window: int,
    episode: list[tuple[Claim, str]],
) -> list[rules.Flag]:
    """The fraud rules on a claim, given what `fraud_check` reads (the hospital counter reads
    the same facts in its own few statements)."""
    cfg = current_app.config
    # what the bureau record itself showed when the claim was created from it
    extra = [
        rules.Flag(f["code"], f["zh"])
        for f in claim.flags or []
        if f.get("code")
        in ("settlement_inconsistent", "person_mismatch", claim_lines.INCONSISTENT_FLAG)
    ]
    if person.insurance_status is None:
        extra.append(rules.Flag("identity_not_matched", "医保部门未能核实被保险人的身份信息"))
    if episode:  # paid once: a later claim for the same care is a supplement, never automatic
        extra.append(rules.Flag(supplements.FLAG, supplements.flag_text(episode)))
        typed = (claim.in_policy_self_pay_fen, claim.out_of_policy_self_pay_fen)
        for earlier, _ in episode:  # the bureau's split of the stay, where a claim came from it
            if earlier.source == "settlement" and claim.source != "settlement":
                bureau = (earlier.in_policy_self_pay_fen, earlier.out_of_policy_self_pay_fen)
                differs = rules.bureau_split_flag(earlier.claim_no, bureau, typed)
                if differs is not None:
                    extra.append(differs)
                    break
    assert claim.admitted_on is not None  # a submitted claim passed the completeness check
    facts = rules.FraudFacts(
        care_start=claim.admitted_on,
        care_end=claim.discharged_on or claim.admitted_on,
        coverage_start=policy.coverage_start,
        coverage_end=policy.coverage_end,
        amounts=claim_amounts(claim),
        insured_name=person.name,
        patient_name=claim.patient_name,
        insured_psn_no=person.psn_no,
        duplicate_invoices=duplicate_invoices,
        duplicate_settlement=duplicate_settlement,
        claims_in_window=claims_in_window,
        frequency_limit=cfg["CLAIMS_FREQUENCY_LIMIT"],
        frequency_window_days=cfg["CLAIMS_FREQUENCY_WINDOW_DAYS"],
        extra=tuple(extra),
    )
    return rules.fraud_flags(facts)


def _refresh_identity(claim_id: int) -> None:
    with read_scope() as s:
        claim = claim_by_id(s, claim_id)
        member_id, person_id = claim.member_id, claim.person_id
    refresh_person(member_id, person_id, f"claim {claim_id}")


def refresh_person(member_id: int, person_id: int, what: str) -> None:
    """Re-verify the insured with the bureau when the snapshot is stale (a name or ID number the
    bureau no longer matches becomes a flag, never a silent pass). The claim and the estimate
    both do this, so an estimate never quotes on facts the claim would no longer accept."""
    with read_scope() as s:
        stale = is_stale(existing(s, Person, person_id))
    if not stale:
        return
    try:
        with transaction() as t:
            reverify(t, member_id, existing(t, Person, person_id))
    except ValidationFailed:
        with transaction() as t:
            existing(t, Person, person_id).insurance_status = None
    except (UpstreamUnavailable, DomainError):
        log.info("re-verification skipped for %s: bureau unavailable", what)


def adjudicate(claim_id: int) -> Claim:
    """submitted -> approved (settled now) | pending_review | rejected (automatic)."""
    _refresh_identity(claim_id)
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                claim = claim_by_id(s, claim_id)
                if claim.status != ClaimStatus.SUBMITTED:
                    return claim
                person = existing(s, Person, claim.person_id)
                policy = existing(s, Policy, claim.policy_id)
                year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
                version = year.version
                run = run_episode(s, claim, year)
                result = run.result
                flags = fraud_check(s, claim, person, policy)
                claim.flags = [{"code": f.code, "zh": f.zh} for f in flags]
                record_figure(claim, run, version)
                outcome, reason = _route(claim, result, flags)
                if outcome == ClaimStatus.APPROVED:
                    settle(s, claim, year, version, run)
                transition(
                    s,
                    claim,
                    "adjudicate",
                    actor_type="system",
                    actor_id=None,
                    outcome=outcome,
                    reason=reason,
                    decided_at=utcnow(),
                    auto_rejected=outcome == ClaimStatus.REJECTED,
                )
                if outcome == ClaimStatus.APPROVED:
                    after_approval(s, claim, actor_type="system", actor_id=None)
                else:
                    if outcome == ClaimStatus.REJECTED:
                        disclose_settled(s, claim, 0)
                    notify(s, claim, "claim_" + outcome)
            claim_outcome(claim.status)
            return claim
        except accumulators.StaleAccumulators:
            continue
    raise E.claim_busy()


def _route(claim: Claim, result: Adjudication, flags: list[rules.Flag]) -> tuple[ClaimStatus, str]:
    if flags:
        return ClaimStatus.PENDING_REVIEW, "；".join(f.zh for f in flags)
    if result.decision == "not_payable":
        # only the checks that failed: a passed check is no reason for a rejection
        return ClaimStatus.REJECTED, "；".join(
            l.zh for l in result.lines if l.code in DENY
        ) or "不符合赔付条件"
    if result.decision == "review":
        return ClaimStatus.PENDING_REVIEW, "理赔规则要求人工审核"
    if claim.source != "settlement":
        return ClaimStatus.PENDING_REVIEW, "材料理赔需人工审核票据"
    limit = definition_by_id(get_session(), claim.product_id).auto_approve_max_fen
    if limit is None:
        limit = current_app.config["CLAIMS_AUTO_APPROVE_MAX_FEN"]
    if result.payable_fen > limit:
        return ClaimStatus.PENDING_REVIEW, f"赔付金额超过自动核准上限 {yuan_plain(limit)} 元"
    return ClaimStatus.APPROVED, "医保结算数据直连，规则全部通过，自动核准"


def settle(
    session: Session,
    claim: Claim,
    year: accumulators.AccumulatorYear,
    version: int,
    run: supplements.EpisodeRun,
) -> None:
    accumulators.apply_json(session, year, version, run.deltas)
    claim_lines.hold_caps(session, claim, run.matched)  # special drugs' annual caps
    claim.approved_fen = run.payable_fen
    claim.applied_deltas = run.deltas
    if run.payable_fen > 0:
        session.add(
            ClaimLedgerEntry(claim_id=claim.id, kind="claim_approved", amount_fen=run.payable_fen)
        )


def after_approval(
    session: Session, claim: Claim, *, actor_type: str, actor_id: int | None
) -> None:
    if not claim.approved_fen:
        disclose_settled(session, claim, 0)
        supplement = (claim.adjudication or {}).get("episode")
        transition(
            session,
            claim,
            "pay",
            actor_type=actor_type,
            actor_id=actor_id,
            outcome=ClaimStatus.CLOSED,
            reason="同一次就医已足额赔付，本次无差额可补付"
            if supplement
            else "本次可赔付金额为 0 元（计入年度免赔额）",
            paid_at=utcnow(),
        )
        notify(session, claim, "claim_closed")
    else:
        notify(session, claim, "claim_approved", amount=yuan_plain(claim.approved_fen))


# --- the pipeline, and re-runs for operations -----------------------------------------------------


def process(claim_id: int) -> Claim:
    """Adjudicate a submitted claim, then pay it if it was approved automatically."""
    claim = adjudicate(claim_id)
    if claim.status == ClaimStatus.APPROVED:
        claim = pay(claim_id)
    return claim


def adjudicate_pending() -> int:
    """Claims left 'submitted' by a crash between submit and adjudication."""
    with read_scope() as s:
        ids = list(s.scalars(select(Claim.id).where(Claim.status == ClaimStatus.SUBMITTED)))
    for claim_id in ids:
        process(claim_id)
    return len(ids)


def rerun_for_product(product_code: str, *, apply: bool) -> list[dict]:
    """Re-run the engine for the product's open claims after a product change. Claims waiting
    for a reviewer get the new figures when `apply`; settled claims are only reported (their
    money has moved; a difference is for a person to handle)."""
    from app.products.services import get_product

    product = get_product(product_code, include_retired=True)
    out = []
    # A dry run reads in a scope that rolls back: reading the accumulators may create a year.
    with transaction() if apply else read_scope() as s:
        claims = list(
            s.scalars(
                select(Claim).where(
                    Claim.product_id == product.id,
                    Claim.status.in_(
                        (
                            ClaimStatus.PENDING_REVIEW,
                            ClaimStatus.MORE_INFO_REQUESTED,
                            *SETTLED,
                        )
                    ),
                )
            )
        )
        for claim in claims:
            year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
            settled = claim.status in SETTLED
            # a settled claim's own deductible and spend are in the accumulators already
            run = run_episode(s, claim, year, without_own_use=settled)
            before = claim.payable_fen
            if apply and not settled:
                record_figure(claim, run, year.version)
            out.append(
                {
                    "claim_no": claim.claim_no,
                    "status": claim.status,
                    "before_fen": before,
                    "after_fen": run.payable_fen,
                    "settled": settled,
                }
            )
    return out
