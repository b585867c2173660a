"""The hospitals' API use cases: authenticate a signed request, trial (预结算), confirm (结算),
cancel (撤销) and query. Each owns its transaction(s); no bureau call inside one.

The money path reuses claims: a confirmed settlement is an ordinary claim (source `settlement`,
the bureau's setl_id and mdtrt_id) run through claims' engine run and settled on the versioned
accumulators, so a member's one-tap claim for the same stay and a confirmation race on the
accumulator year's version and the claims' unique settlement index: exactly one is paid.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.catalogues.matching import FeeLine
from app.claims import accumulators, supplements
from app.claims import lines as claim_lines
from app.claims import rules as claim_rules
from app.claims.adjudication_run import (
    SETTLE_ATTEMPTS,
    adjudication_json,
    fraud_check,
    refresh_person,
    run_episode,
    settle,
)
from app.claims.common import (
    claim_by_id,
    disclose_received,
    disclose_settled,
    existing,
    notify,
    rows_changed,
    transition,
)
from app.claims.episodes import EpisodeKey
from app.claims.estimate import quote
from app.claims.models import Claim, ClaimLedgerEntry
from app.claims.settlement import claim_from_record
from app.claims.statuses import ClaimStatus
from app.common.clock import SHANGHAI, today_shanghai
from app.common.money import yuan_plain
from app.database import read_scope, transaction, utcnow
from app.direct_settlement import rules
from app.direct_settlement.models import (
    DirectNonce,
    DirectSettlement,
    DirectTrial,
    HospitalLedgerEntry,
    Institution,
)
from app.direct_settlement.statuses import DirectStatus, HospitalEntryKind, InstitutionStatus
from app.enrollment.models import Order, OrderItem
from app.error_catalogue import E, raise_error
from app.identity.services import is_stale
from app.integrations.bureau.settlements import SettlementRecord
from app.members.models import Member, Person
from app.policies.models import Policy, PolicyStatus
from app.products.models import Product
from app.products.services import definition_of

HEADERS = ("X-Inst-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature")


# --- authentication -------------------------------------------------------------------------


def authenticate(method: str, path: str, headers, body: bytes) -> int:
    """The institution that signed this request (its id), or a 401/409. The nonce is spent
    only once the signature is good, so nobody can burn another institution's nonces."""
    from app.integrations.registry import signer

    key_id, timestamp, nonce, signature = (headers.get(h) for h in HEADERS)
    if not key_id or not signature or not timestamp or not nonce:
        raise E.direct_signature_missing()
    problem = rules.header_problem(timestamp, nonce)
    if problem:
        raise E.direct_signature_missing(problem)
    window = current_app.config["DIRECT_TIMESTAMP_WINDOW_SECONDS"]
    message = rules.canonical(method, path, timestamp, nonce, body)
    try:
        # One transaction: the key read, the checks (the signature in ~1 ms, no lock held), the
        # nonce spent; any refusal rolls it back.
        with transaction() as s:
            inst = s.scalar(select(Institution).where(Institution.key_id == key_id))
            if inst is None or inst.status != InstitutionStatus.ACTIVE:
                raise E.direct_institution_unknown()
            if not rules.within_window(int(timestamp), int(utcnow().timestamp()), window):
                raise E.direct_timestamp_stale()
            if not signer().verify(inst.public_key, message, signature):
                raise E.direct_signature_invalid()
            inst_id = inst.id
            s.add(DirectNonce(institution_id=inst_id, nonce=nonce))
            s.flush()
    except IntegrityError:
        raise E.direct_replayed() from None
    return inst_id


# --- shared reads ---------------------------------------------------------------------------


def _read(payload: dict) -> tuple[SettlementRecord, list[FeeLine]]:
    try:
        record, lines = rules.read_settlement(payload["setlinfo"], payload["feedetail"])
    except rules.BadSettlement as exc:
        raise_error(exc.code, exc.message)
    return record, [FeeLine(**line.fee_line_fields()) for line in lines]


def policy_on(s: Session, person_id: int, record: SettlementRecord) -> Policy | None:
    """The person's policy in force on the date of care (admission)."""
    return s.scalar(
        select(Policy).where(
            Policy.person_id == person_id,
            Policy.status == PolicyStatus.ACTIVE,
            Policy.coverage_start <= record.care_date,
            Policy.coverage_end >= record.care_date,
        )
    )


def claimant(s: Session, person: Person, policy: Policy) -> int | None:
    """The member the claim belongs to: the insured's own account, else who paid the policy."""
    own = s.scalar(select(Member.id).where(Member.person_id == person.id).limit(1))
    if own is not None:
        return own
    return s.scalar(
        select(Order.member_id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(OrderItem.id == policy.order_item_id)
    )


def refuse_if_claimed(s: Session, person_id: int, record: SettlementRecord) -> None:
    """Paid once: no live claim may already cover this settlement or this care episode."""
    claims = supplements.live_claims(s, person_id)
    for claim in claims:
        if claim.setl_id == record.setl_id:
            raise E.direct_episode_claimed(f"该次就医已提交理赔申请 {claim.claim_no}")
    key = EpisodeKey(
        person=str(person_id),
        care_start=record.begndate,
        care_end=record.enddate,
        hospital_name=record.fixmedins_name,
        hospital_code=record.fixmedins_code or None,
        mdtrt_id=record.mdtrt_id,
    )
    matches = supplements.matches_for(key, claims)
    if matches:
        claim_no = next(c.claim_no for c in claims if str(c.id) == matches[0].claim.claim_id)
        raise E.direct_episode_claimed(f"该次就医已提交理赔申请 {claim_no}（{matches[0].message}）")


def _lines(explanation: dict) -> list[dict]:
    return [{"code": l["code"], "zh": l["zh"]} for l in explanation.get("lines", [])]


def refuse_if_flagged(s: Session, claim: Claim, person: Person, policy: Policy) -> None:
    """The claims pipeline's fraud checks (claims.adjudication_run.fraud_check) on the claim the
    counter would settle. A flag sends a member's claim to a reviewer and never pays it
    automatically; nobody reviews at the counter, so a flagged stay is refused here (409
    direct_needs_review, the flags in `errors.flags`, nothing changes): the patient pays the
    hospital in full and claims afterwards, where the same flags reach a reviewer."""
    flags = fraud_check(s, claim, person, policy)
    if flags:
        raise E.direct_needs_review(
            "风险核查需人工审核，请患者出院后申请理赔：" + "；".join(f.zh for f in flags),
            errors={"flags": [{"code": f.code, "zh": f.zh} for f in flags]},
        )


# --- trial ----------------------------------------------------------------------------------


def trial(inst_id: int, payload: dict) -> dict:
    """预结算: what 惠民保 pays on this settled stay, against the person's accumulators as they
    stand; records the trial, changes nothing else."""
    from app.integrations.registry import bureau

    record, fee_lines = _read(payload)
    with read_scope() as s:
        inst = existing(s, Institution, inst_id)
        if record.fixmedins_code != inst.fixmedins_code:
            raise E.direct_institution_mismatch()
        person = s.scalar(select(Person).where(Person.psn_no == record.psn_no))
        if person is None:
            raise E.direct_person_unknown()
        person_id = person.id
    if record.cancelled:
        raise E.direct_request_invalid("该笔结算已冲销")
    if record.care_kind is None:
        raise E.settlement_not_claimable()
    from app.integrations.bureau.port import BureauUnavailable

    try:
        theirs = bureau().settlement_record(record.psn_no, record.setl_id)
    except BureauUnavailable:
        raise E.bureau_unavailable() from None
    if theirs is None or theirs.cancelled or theirs.mdtrt_id != record.mdtrt_id:
        raise E.direct_episode_unknown()
    differing = rules.differences(record, theirs)
    if differing:
        raise E.direct_amounts_mismatch("与医保结算记录不一致：" + "、".join(differing))
    with read_scope() as s:
        policy = policy_on(s, person_id, record)
        if policy is None:
            raise E.direct_policy_not_in_force()
        person = existing(s, Person, person_id)
        member_id, stale = claimant(s, person, policy), is_stale(person)
        if member_id is None:
            raise E.direct_person_unknown()
    if stale:  # as a claim does: a stale identity snapshot is re-verified with the bureau first
        refresh_person(member_id, person_id, f"direct trial {record.setl_id}")
    with read_scope() as s:
        person = existing(s, Person, person_id)
        policy = policy_on(s, person_id, record)
        if policy is None:
            raise E.direct_policy_not_in_force()
        refuse_if_claimed(s, person_id, record)
        definition = definition_of(existing(s, Product, policy.product_id))
        providers = definition.settlement_providers
        # the claim confirm would write, not stored: what the fraud checks look at
        unsaved = claim_from_record(
            record,
            member_id=member_id,
            person_id=person_id,
            policy=policy,
            providers=providers,
            flags=[],
        )
        refuse_if_flagged(s, unsaved, person, policy)
        result = quote(
            s,
            policy,
            claim_rules.settlement_amounts(record, providers),
            record.care_kind,
            record.care_date,
            "healthy",
            (fee_lines, (record.fixmedins_code, record.fixmedins_name)),
            admission_id=record.mdtrt_id,
        )
        policy_id, policy_no = policy.id, policy.policy_no
    if result.decision == "review":
        raise E.direct_needs_review()
    limit = definition.auto_approve_max_fen
    if limit is None:
        limit = current_app.config["CLAIMS_AUTO_APPROVE_MAX_FEN"]
    if result.payable_fen > limit:  # what a one-tap claim would leave to a reviewer
        raise E.direct_needs_review(f"赔付金额超过自动核准上限 {yuan_plain(limit)} 元，需人工审核")
    explanation = adjudication_json(result)
    with transaction() as s:
        row = DirectTrial(
            trial_no="DT"
            + datetime.now(SHANGHAI).strftime("%Y%m%d")
            + secrets.token_hex(6).upper(),
            institution_id=inst_id,
            person_id=person_id,
            policy_id=policy_id,
            setl_id=record.setl_id,
            mdtrt_id=record.mdtrt_id,
            request={"setlinfo": payload["setlinfo"], "feedetail": payload["feedetail"]},
            payable_fen=result.payable_fen if result.decision == "payable" else 0,
            explanation=explanation,
        )
        s.add(row)
        s.flush()
        return {
            "trial_no": row.trial_no,
            "decision": result.decision,
            "payable_fen": row.payable_fen,
            "patient_pays_fen": record.psn_part_amt_fen - row.payable_fen,
            "policy_no": policy_no,
            "explanation": _lines(explanation),
        }


# --- confirm --------------------------------------------------------------------------------


def _view(s: Session, ds: DirectSettlement) -> dict:
    claim = claim_by_id(s, ds.claim_id)
    trial_row = existing(s, DirectTrial, ds.trial_id)
    return {
        "setl_sn": ds.setl_sn,
        "trial_no": trial_row.trial_no,
        "status": ds.status,
        "claim_no": claim.claim_no,
        "claim_status": claim.status,
        "amount_fen": ds.amount_fen,
        "settled_on": ds.settled_on,
        "confirmed_at": ds.confirmed_at,
        "cancelled_at": ds.cancelled_at,
        "explanation": _lines(trial_row.explanation),
    }


def _by_number(s: Session, inst_id: int, setl_sn: str) -> DirectSettlement | None:
    return s.scalar(
        select(DirectSettlement).where(
            DirectSettlement.institution_id == inst_id, DirectSettlement.setl_sn == setl_sn
        )
    )


def _same_confirmation(inst_id: int, setl_sn: str, trial_no: str) -> dict | None:
    """Idempotency by settlement number: the earlier answer for the same trial, a 409 for
    another one, None when the number is new."""
    with read_scope() as s:
        ds = _by_number(s, inst_id, setl_sn)
        if ds is None:
            return None
        if existing(s, DirectTrial, ds.trial_id).trial_no != trial_no:
            raise E.direct_settlement_number_used()
        return _view(s, ds)


def confirm(inst_id: int, trial_no: str, setl_sn: str) -> dict:
    """结算: the trial becomes a claim paid by the hospital (accumulators settled, the member
    notified, the amount owed to the hospital on its ledger). Idempotent by setl_sn."""
    earlier = _same_confirmation(inst_id, setl_sn, trial_no)
    if earlier is not None:
        return earlier
    with read_scope() as s:
        row = s.scalar(
            select(DirectTrial).where(
                DirectTrial.trial_no == trial_no, DirectTrial.institution_id == inst_id
            )
        )
        if row is None:
            raise E.direct_trial_unknown()
        if s.scalar(select(DirectSettlement.id).where(DirectSettlement.trial_id == row.id)):
            raise E.direct_trial_confirmed()
        if row.explanation.get("decision") != "payable":
            raise E.direct_nothing_payable()
        trial_id, request, person_id = row.id, row.request, row.person_id
        person = existing(s, Person, person_id)
        member_id = claimant(s, person, existing(s, Policy, row.policy_id))
        stale = is_stale(person)
    if stale and member_id is not None:
        refresh_person(member_id, person_id, f"direct confirm {trial_no}")
    record, fee_lines = _read(request)
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                return _confirm(s, inst_id, trial_id, record, fee_lines, setl_sn)
        except accumulators.StaleAccumulators:
            continue
        except IntegrityError:
            earlier = _same_confirmation(inst_id, setl_sn, trial_no)
            if earlier is not None:
                return earlier
            raise E.direct_episode_claimed() from None
    raise E.direct_busy()


def _confirm(
    s: Session,
    inst_id: int,
    trial_id: int,
    record: SettlementRecord,
    fee_lines: list[FeeLine],
    setl_sn: str,
) -> dict:
    inst = existing(s, Institution, inst_id)
    row = existing(s, DirectTrial, trial_id)
    policy = existing(s, Policy, row.policy_id)
    person = existing(s, Person, row.person_id)
    # The version first, then the episode: a claim that settles in between bumps the version
    # and this transaction starts again (and then sees it).
    year = accumulators.year_of(s, person.id, policy.product_id, policy.plan_year)
    version = year.version
    refuse_if_claimed(s, person.id, record)
    member_id = claimant(s, person, policy)
    if member_id is None:
        raise E.direct_person_unknown()
    providers = definition_of(existing(s, Product, policy.product_id)).settlement_providers
    claim = claim_from_record(
        record,
        member_id=member_id,
        person_id=person.id,
        policy=policy,
        providers=providers,
        flags=[],
    )
    s.add(claim)
    s.flush()
    claim_lines.store(s, claim, fee_lines, "bureau")
    audit(
        s,
        actor_type="system",
        actor_id=None,
        action="claim.created",
        object_type="claim",
        object_id=claim.id,
        detail={"source": "direct_settlement", "institution": inst.fixmedins_code},
    )
    transition(s, claim, "submit", actor_type="system", actor_id=None, submitted_at=utcnow())
    disclose_received(s, claim)
    run = run_episode(s, claim, year)
    if run.result.decision != "payable" or run.payable_fen != row.payable_fen:
        raise E.direct_trial_stale()
    refuse_if_flagged(s, claim, person, policy)  # again: claims since the trial count too
    claim.decision, claim.payable_fen = run.result.decision, run.payable_fen
    claim.adjudication = run.adjudication(adjudication_json(run.result))
    settle(s, claim, year, version, run)
    reason = f"定点医院一站式结算（{inst.name}，结算流水号 {setl_sn}）"
    now = utcnow()
    transition(
        s,
        claim,
        "adjudicate",
        actor_type="system",
        actor_id=None,
        outcome=ClaimStatus.APPROVED,
        reason=reason,
        decided_at=now,
    )
    amount = run.payable_fen
    outcome = ClaimStatus.PAID if amount else ClaimStatus.CLOSED
    if amount:  # paid to the patient by the hospital at the counter
        s.add(ClaimLedgerEntry(claim_id=claim.id, kind="claim_payout", amount_fen=-amount))
    transition(
        s,
        claim,
        "pay",
        actor_type="system",
        actor_id=None,
        outcome=outcome,
        reason=reason,
        paid_at=now,
        paid_fen=amount,
    )
    disclose_settled(s, claim, amount)
    notify(s, claim, "claim_" + outcome, amount=yuan_plain(amount), direct=True)
    ds = DirectSettlement(
        institution_id=inst_id,
        setl_sn=setl_sn,
        trial_id=trial_id,
        claim_id=claim.id,
        status=DirectStatus.CONFIRMED,
        amount_fen=amount,
        settled_on=today_shanghai(),
        confirmed_at=now,
    )
    s.add(ds)
    s.flush()
    if amount:
        s.add(
            HospitalLedgerEntry(
                institution_id=inst_id,
                settlement_id=ds.id,
                kind=HospitalEntryKind.OWED,
                amount_fen=amount,
            )
        )
    return _view(s, ds)


# --- cancel and query -----------------------------------------------------------------------


def cancel(inst_id: int, setl_sn: str) -> dict:
    """撤销: the claim reversed, its accumulator deltas taken back exactly, the hospital owed
    nothing for it. Cancelling a cancelled settlement answers it again."""
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                ds = _by_number(s, inst_id, setl_sn)
                if ds is None:
                    raise E.direct_settlement_unknown()
                if ds.status == DirectStatus.CANCELLED:
                    return _view(s, ds)
                claim = claim_by_id(s, ds.claim_id)
                year = accumulators.year_of(s, claim.person_id, claim.product_id, claim.plan_year)
                version = year.version
                if supplements.same_episode_claims(s, claim):
                    raise E.direct_cancel_blocked()
                accumulators.withdraw_json(s, year, version, claim.applied_deltas or {})
                transition(
                    s,
                    claim,
                    "reverse",
                    actor_type="system",
                    actor_id=None,
                    reason=f"定点医院撤销一站式结算（结算流水号 {setl_sn}）",
                )
                now = utcnow()
                moved = rows_changed(
                    s,
                    update(DirectSettlement)
                    .where(
                        DirectSettlement.id == ds.id,
                        DirectSettlement.status == DirectStatus.CONFIRMED,
                    )
                    .values(status=DirectStatus.CANCELLED, cancelled_at=now),
                )
                if moved != 1:
                    raise accumulators.StaleAccumulators()  # cancelled meanwhile: read again
                if ds.amount_fen:
                    s.add(
                        HospitalLedgerEntry(
                            institution_id=inst_id,
                            settlement_id=ds.id,
                            kind=HospitalEntryKind.REVERSED,
                            amount_fen=-ds.amount_fen,
                        )
                    )
                notify(s, claim, "claim_reversed", amount=yuan_plain(ds.amount_fen))
                s.refresh(ds)
                return _view(s, ds)
        except accumulators.StaleAccumulators:
            continue
    raise E.direct_busy()


def query(inst_id: int, setl_sn: str) -> dict:
    with read_scope() as s:
        ds = _by_number(s, inst_id, setl_sn)
        if ds is None:
            raise E.direct_settlement_unknown()
        return _view(s, ds)


# --- nonces ---------------------------------------------------------------------------------

NONCE_PURGE_BATCH = 5000


def nonce_keep_seconds(window_seconds: int, margin_seconds: int) -> int:
    """How long a used nonce must be kept. A request is accepted while its timestamp is within
    the window of now either way, so a nonce first used with a timestamp a window ahead stays
    replayable for two windows after its use; the margin covers clock differences between the
    web servers and the database."""
    return 2 * window_seconds + margin_seconds


def purge_nonces(margin_seconds: int = 3600, batch: int = NONCE_PURGE_BATCH) -> int:
    """Delete the nonces no request can replay any more (older than `nonce_keep_seconds`), in
    batches of `batch` rows, each its own transaction (no long lock on the table the hospitals
    write to); how many were deleted."""
    window = current_app.config["DIRECT_TIMESTAMP_WINDOW_SECONDS"]
    cutoff = utcnow() - timedelta(seconds=nonce_keep_seconds(window, margin_seconds))
    deleted = 0
    while True:
        with transaction() as s:
            ids = list(
                s.scalars(
                    select(DirectNonce.id)
                    .where(DirectNonce.created_at < cutoff)
                    .order_by(DirectNonce.id)
                    .limit(batch)
                )
            )
            if ids:
                s.execute(delete(DirectNonce).where(DirectNonce.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted
