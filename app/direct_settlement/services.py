"""The hospitals' API use cases: authenticate a signed request, trial (预结算), confirm (结算),
cancel (撤销) and query. Each owns its transaction(s); no bureau call inside one.

The money path reuses claims: a confirmed settlement is an ordinary claim (source `settlement`,
the bureau's setl_id and mdtrt_id) with the same rows a one-tap claim leaves (booking.py), the
same fraud, episode and engine rules on the same facts (stay.py, read in a few statements: the
patient waits at the counter), settled on the versioned accumulators. The confirmation locks the
person's accumulator year before it reads the claims, and a member's one-tap claim for the same
stay settles through the same year's version and the claims' unique settlement index: exactly
one is paid.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.adjudication.model import Adjudication
from app.catalogues.matching import FeeLine
from app.claims import accumulators, supplements
from app.claims.adjudication_run import SETTLE_ATTEMPTS, adjudication_json, refresh_person
from app.claims.common import claim_by_id, existing, notify, rows_changed
from app.claims.statuses import ClaimStatus
from app.common.clock import SHANGHAI, today_shanghai
from app.common.money import yuan_plain
from app.database import autocommit_read, autocommit_write, read_scope, transaction, utcnow
from app.direct_settlement import booking, rules
from app.direct_settlement import stay as stays
from app.direct_settlement.models import (
    DirectNonce,
    DirectSettlement,
    DirectTrial,
    HospitalLedgerEntry,
    Institution,
)
from app.direct_settlement.statuses import DirectStatus, HospitalEntryKind, InstitutionStatus
from app.disclosure.aggregates import record_counter_payment_reversed
from app.error_catalogue import E, raise_error
from app.errors import DomainError
from app.identity.services import is_stale, is_stale_at
from app.integrations.bureau.settlements import SettlementRecord
from app.members.models import Person

HEADERS = ("X-Inst-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature")


# --- authentication -------------------------------------------------------------------------


@dataclass(frozen=True)
class InstitutionKey:
    """What a request needs of the institution that signed it (kept per process by key id)."""

    id: int
    key_id: str
    public_key: str
    fixmedins_code: str
    name: str


# key id -> the institution as last read; a spent nonce proves it still stands (see authenticate)
_KEYS: dict[str, InstitutionKey] = {}
_KEYS_MAX = 4096


def _institution(key_id: str, *, fresh: bool) -> InstitutionKey:
    key = None if fresh else _KEYS.get(key_id)
    if key is None:
        with read_scope() as s:
            inst = s.scalar(select(Institution).where(Institution.key_id == key_id))
            if inst is None or inst.status != InstitutionStatus.ACTIVE:
                _KEYS.pop(key_id, None)
                raise E.direct_institution_unknown()
            key = InstitutionKey(inst.id, key_id, inst.public_key, inst.fixmedins_code, inst.name)
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[key_id] = key
    return key


def _statements() -> dict:
    """The hot statements, built once (building an expression costs more CPU than sending it)."""
    nonces, institutions = DirectNonce.__table__, Institution.__table__
    trials, settlements = DirectTrial.__table__, DirectSettlement.__table__
    return {
        # the nonce recorded only while the institution is active under this very key
        "spend": insert(nonces)
        .from_select(
            ["institution_id", "nonce", "created_at"],
            select(
                institutions.c.id,
                bindparam("nonce", type_=nonces.c.nonce.type),
                bindparam("now", type_=nonces.c.created_at.type),
            ).where(
                institutions.c.id == bindparam("institution_id"),
                institutions.c.key_id == bindparam("key_id"),
                institutions.c.public_key == bindparam("public_key"),
                institutions.c.status == InstitutionStatus.ACTIVE,
            ),
        )
        .returning(nonces.c.id),
        "trial": DirectTrial.__table__.insert(),
        # a confirmation's trial, whether it or this settlement number was confirmed, and when
        # its person was last verified: one statement
        "confirming": select(
            trials.c.id,
            trials.c.payable_fen,
            trials.c.request,
            trials.c.person_id,
            trials.c.explanation,
            settlements.c.id.label("settlement_id"),
            Person.__table__.c.verified_at,
        )
        .join(Person.__table__, Person.__table__.c.id == trials.c.person_id)
        .outerjoin(
            settlements,
            or_(
                settlements.c.trial_id == trials.c.id,
                and_(
                    settlements.c.institution_id == bindparam("institution_id"),
                    settlements.c.setl_sn == bindparam("setl_sn"),
                ),
            ),
        )
        .where(
            trials.c.trial_no == bindparam("trial_no"),
            trials.c.institution_id == bindparam("institution_id"),
        ),
        "settlement": DirectSettlement.__table__.insert().returning(
            DirectSettlement.__table__.c.id
        ),
        "owed": HospitalLedgerEntry.__table__.insert(),
    }


_SQL = _statements()


def _spend_nonce(key: InstitutionKey, nonce: str) -> bool:
    """Record the nonce as used, in one statement that also checks the institution is still
    active under this very key; False when it is not (deactivated or re-keyed since it was
    read). A used nonce is 409 direct_replayed."""
    params = {
        "nonce": nonce,
        "now": utcnow(),
        "institution_id": key.id,
        "key_id": key.key_id,
        "public_key": key.public_key,
    }
    try:
        return autocommit_write(lambda s: s.execute(_SQL["spend"], params).first()) is not None
    except IntegrityError:
        raise E.direct_replayed() from None


def authenticate(method: str, path: str, headers, body: bytes) -> InstitutionKey:
    """The institution that signed this request, or a 401/409. The nonce is spent only once the
    signature is good, so nobody can burn another institution's nonces. The institution's key
    is kept per process; the statement spending the nonce checks it is still the active key, and
    on a miss the key is read again (a deactivated institution is refused at once)."""
    from app.integrations.registry import signer

    key_id, timestamp, nonce, signature = (headers.get(h) for h in HEADERS)
    if not key_id or not signature or not timestamp or not nonce:
        raise E.direct_signature_missing()
    problem = rules.header_problem(timestamp, nonce)
    if problem:
        raise E.direct_signature_missing(problem)
    window = current_app.config["DIRECT_TIMESTAMP_WINDOW_SECONDS"]
    message = rules.canonical(method, path, timestamp, nonce, body)
    for fresh in (False, True):
        key = _institution(key_id, fresh=fresh)
        if not rules.within_window(int(timestamp), int(utcnow().timestamp()), window):
            raise E.direct_timestamp_stale()
        if not signer().verify(key.public_key, message, signature):
            if fresh:
                raise E.direct_signature_invalid()
            continue  # perhaps re-keyed since it was read: read it again
        if _spend_nonce(key, nonce):
            return key
        _KEYS.pop(key_id, None)
    raise E.direct_institution_unknown()


# --- shared reads ---------------------------------------------------------------------------


def _read(payload: dict) -> tuple[SettlementRecord, list[FeeLine]]:
    try:
        record, lines = rules.read_settlement(payload["setlinfo"], payload["feedetail"])
    except rules.BadSettlement as exc:
        raise_error(exc.code, exc.message)
    return record, [FeeLine(**line.fee_line_fields()) for line in lines]


def _same_lines_as_bureau(
    record: SettlementRecord, theirs: SettlementRecord, fee_lines: list[FeeLine]
) -> None:
    """The lines the engine matches are the bureau's 5204 lines, as for a member's claim of the
    same stay (the same totals spread otherwise over the lines would pay otherwise)."""
    from app.integrations.bureau.fee_details import FeeDetailsInconsistent
    from app.integrations.bureau.port import BureauUnavailable
    from app.integrations.registry import bureau

    try:
        bureau_lines = bureau().fee_details(record.psn_no, record.setl_id, settlement=theirs)
    except FeeDetailsInconsistent:
        # a member's claim would wait for a reviewer to enter the lines
        raise E.direct_needs_review("医保费用明细与结算金额不一致，需人工审核") from None
    except BureauUnavailable:
        raise E.bureau_unavailable() from None
    differing = rules.line_differences(fee_lines, bureau_lines or [])
    if differing:
        raise E.direct_amounts_mismatch(
            "费用明细与医保结算明细不一致，请按医保结算明细重新上传："
            + "；".join(differing[:10])
            + ("等" if len(differing) > 10 else "")
        )


def _lines(explanation: dict) -> list[dict]:
    return [{"code": l["code"], "zh": l["zh"]} for l in explanation.get("lines", [])]


def _checked(stay: stays.Stay, result: Adjudication) -> None:
    """What the counter refuses after the engine ran: a stay it would not pay automatically."""
    if result.decision == "review":
        raise E.direct_needs_review()
    limit = stay.definition.auto_approve_max_fen
    if limit is None:
        limit = current_app.config["CLAIMS_AUTO_APPROVE_MAX_FEN"]
    if result.decision == "payable" and result.payable_fen > limit:
        # what a one-tap claim would leave to a reviewer
        raise E.direct_needs_review(f"赔付金额超过自动核准上限 {yuan_plain(limit)} 元，需人工审核")


# --- trial ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stale:
    member_id: int
    person_id: int


def trial(inst: InstitutionKey, payload: dict) -> dict:
    """预结算: what 惠民保 pays on this settled stay, against the person's accumulators as they
    stand; records the trial, changes nothing else."""
    from app.integrations.bureau.port import BureauUnavailable
    from app.integrations.registry import bureau

    record, fee_lines = _read(payload)
    if record.fixmedins_code != inst.fixmedins_code:
        raise E.direct_institution_mismatch()
    if record.cancelled:
        raise E.direct_request_invalid("该笔结算已冲销")
    if record.care_kind is None:
        raise E.settlement_not_claimable()
    try:
        theirs = bureau().settlement_record(record.psn_no, record.setl_id)
    except BureauUnavailable:
        raise E.bureau_unavailable() from None
    if theirs is None or theirs.cancelled or theirs.mdtrt_id != record.mdtrt_id:
        if not autocommit_read(lambda s: stays.person_known(s, record.psn_no)):
            raise E.direct_person_unknown()
        raise E.direct_episode_unknown()
    differing = rules.differences(record, theirs)
    if differing:
        raise E.direct_amounts_mismatch("与医保结算记录不一致：" + "、".join(differing))
    _same_lines_as_bureau(record, theirs, fee_lines)

    def quoted(s: Session, fresh: bool) -> tuple[tuple[int, int, str], Adjudication] | _Stale:
        """The stay read and quoted (reads only, each statement its own snapshot: confirm
        checks again under its lock); the member's id instead when the identity snapshot is
        stale and not `fresh`."""
        stay = stays.read_stay(s, record)
        if stay.member_id is None:
            raise E.direct_person_unknown()
        if not fresh and is_stale(stay.person):
            return _Stale(stay.member_id, stay.person.id)
        stays.refuse_if_claimed(stay)
        claim = stays.new_claim(stay)
        stays.refuse_if_flagged(stay, claim)
        result, _ = stays.quote(s, stay, fee_lines, record.care_date)
        _checked(stay, result)
        return (stay.person.id, stay.policy.id, stay.policy.policy_no), result

    answer = autocommit_read(lambda s: quoted(s, False))
    if isinstance(answer, _Stale):
        # as a claim does: a stale identity snapshot is re-verified with the bureau first
        refresh_person(answer.member_id, answer.person_id, f"direct trial {record.setl_id}")
        answer = autocommit_read(lambda s: quoted(s, True))
    assert not isinstance(answer, _Stale)
    ids, result = answer
    explanation = adjudication_json(result)
    payable = result.payable_fen if result.decision == "payable" else 0
    row = {
        "trial_no": "DT" + datetime.now(SHANGHAI).strftime("%Y%m%d") + secrets.token_hex(6).upper(),
        "institution_id": inst.id,
        "person_id": ids[0],
        "policy_id": ids[1],
        "setl_id": record.setl_id,
        "mdtrt_id": record.mdtrt_id,
        "request": {"setlinfo": payload["setlinfo"], "feedetail": payload["feedetail"]},
        "payable_fen": payable,
        "explanation": explanation,
        "created_at": utcnow(),
    }
    try:
        autocommit_write(lambda s: s.execute(_SQL["trial"], row))
    except IntegrityError:
        # A resend meeting its own random number: the first attempt was written and its
        # connection died before the answer came (autocommit_write sends it once more).
        number = row["trial_no"]
        if not autocommit_read(
            lambda s: s.scalar(select(DirectTrial.id).where(DirectTrial.trial_no == number))
        ):
            raise
    return {
        "trial_no": row["trial_no"],
        "decision": result.decision,
        "payable_fen": payable,
        "patient_pays_fen": record.psn_part_amt_fen - payable,
        "policy_no": ids[2],
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


def _same_confirmation(s: Session, inst_id: int, setl_sn: str, trial_no: str) -> dict | None:
    """Idempotency by settlement number: the earlier answer for the same trial, a 409 for
    another one, None when the number is new."""
    ds = _by_number(s, inst_id, setl_sn)
    if ds is None:
        return None
    if existing(s, DirectTrial, ds.trial_id).trial_no != trial_no:
        raise E.direct_settlement_number_used()
    return _view(s, ds)


def confirm(inst: InstitutionKey, trial_no: str, setl_sn: str) -> dict:
    """结算: the trial becomes a claim paid by the hospital (accumulators settled, the member
    notified, the amount owed to the hospital on its ledger). Idempotent by setl_sn."""
    params = {"trial_no": trial_no, "institution_id": inst.id, "setl_sn": setl_sn}
    found = autocommit_read(lambda s: s.execute(_SQL["confirming"], params).all())
    if not found or any(row.settlement_id is not None for row in found):
        with read_scope() as s:
            earlier = _same_confirmation(s, inst.id, setl_sn, trial_no)
        if earlier is not None:
            return earlier
        raise E.direct_trial_confirmed() if found else E.direct_trial_unknown()
    row = found[0]
    if row.explanation.get("decision") != "payable":
        raise E.direct_nothing_payable()
    trial_id, payable, request, person_id = row.id, row.payable_fen, row.request, row.person_id
    explanation = _lines(row.explanation)
    stale = is_stale_at(row.verified_at)
    record, fee_lines = _read(request)
    if stale:
        with read_scope() as s:
            member_id = stays.read_stay(s, record, person_id=person_id).member_id
        if member_id is not None:
            refresh_person(member_id, person_id, f"direct confirm {trial_no}")
    try:
        with transaction() as s:
            answer = _confirm(s, inst, trial_id, payable, person_id, record, fee_lines, setl_sn)
            return answer | {"trial_no": trial_no, "explanation": explanation}
    except (IntegrityError, DomainError) as refused:
        if isinstance(refused, DomainError) and refused.code != "direct_episode_claimed":
            raise
        # A confirmation of this trial committed while this one waited for the year's lock (a
        # retry racing its own first attempt): its answer, as after it finished.
        with read_scope() as s:
            earlier = _same_confirmation(s, inst.id, setl_sn, trial_no)
            confirmed = s.scalar(
                select(DirectSettlement.id).where(DirectSettlement.trial_id == trial_id)
            )
            gone = s.get(DirectTrial, trial_id) is None  # past its retention: purge-retained
        if earlier is not None:
            return earlier
        if confirmed is not None:
            raise E.direct_trial_confirmed() from None
        if isinstance(refused, DomainError):
            raise
        raise (E.direct_trial_unknown() if gone else E.direct_episode_claimed()) from None


def _confirm(
    s: Session,
    inst: InstitutionKey,
    trial_id: int,
    trial_payable: int,
    person_id: int,
    record: SettlementRecord,
    fee_lines: list[FeeLine],
    setl_sn: str,
) -> dict:
    # The accumulator year is locked first, then the claims are read: a claim that settled
    # before is seen (and refuses this one), and none can settle until this transaction ends.
    stay = stays.read_stay(s, record, person_id=person_id, lock_year=True)
    stays.refuse_if_claimed(stay)
    if stay.member_id is None:
        raise E.direct_person_unknown()
    claim = stays.new_claim(stay)
    stays.refuse_if_flagged(stay, claim)  # again: claims since the trial count too
    result, matched = stays.quote(s, stay, fee_lines, record.begndate)
    _checked(stay, result)
    if result.decision != "payable" or result.payable_fen != trial_payable:
        raise E.direct_trial_stale()
    assert stay.year is not None
    amount = result.payable_fen
    deltas = accumulators.deltas_to_json(result.deltas)
    now = utcnow()
    reason = f"定点医院一站式结算（{inst.name}，结算流水号 {setl_sn}）"
    outcome = ClaimStatus.PAID if amount else ClaimStatus.CLOSED
    settled = booking.settled_claim(claim, result, matched, deltas, now)
    booking.insert_claim(s, settled)
    message = ("claim_" + outcome, {"amount": yuan_plain(amount), "direct": True})
    booking.record_history(s, settled, matched, fee_lines, reason, inst.fixmedins_code, message)
    accumulators.add_json(s, stay.year[0], deltas)  # lock_year moved the version
    booking.hold_caps(s, settled, matched)  # what it counts of special drugs' annual caps
    settled_on = today_shanghai()
    ds_id = s.execute(
        _SQL["settlement"],
        {
            "institution_id": inst.id,
            "setl_sn": setl_sn,
            "trial_id": trial_id,
            "claim_id": settled.id,
            "status": DirectStatus.CONFIRMED,
            "amount_fen": amount,
            "settled_on": settled_on,
            "confirmed_at": now,
        },
    ).scalar_one()
    if amount:
        s.execute(
            _SQL["owed"],
            {
                "institution_id": inst.id,
                "settlement_id": ds_id,
                "kind": HospitalEntryKind.OWED,
                "amount_fen": amount,
            },
        )
    booking.count_publicly(s, settled, settled_on)  # last: its rows stay locked until commit
    return {
        "setl_sn": setl_sn,
        "status": DirectStatus.CONFIRMED,
        "claim_no": settled.claim_no,
        "claim_status": settled.status,
        "amount_fen": amount,
        "settled_on": settled_on,
        "confirmed_at": now,
        "cancelled_at": None,
    }


# --- cancel and query -----------------------------------------------------------------------


def cancel(inst: InstitutionKey, setl_sn: str) -> dict:
    """撤销: the claim reversed, its accumulator deltas taken back exactly, the hospital owed
    nothing for it. Cancelling a cancelled settlement answers it again."""
    for _ in range(SETTLE_ATTEMPTS):
        try:
            with transaction() as s:
                ds = _by_number(s, inst.id, setl_sn)
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
                booking.release_caps(s, claim)  # what it held of special drugs' annual caps
                now = utcnow()
                booking.reverse_claim(s, claim, setl_sn, now)
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
                            institution_id=inst.id,
                            settlement_id=ds.id,
                            kind=HospitalEntryKind.REVERSED,
                            amount_fen=-ds.amount_fen,
                        )
                    )
                    # the public figures: no longer paid (taken back on the day it was counted)
                    record_counter_payment_reversed(
                        s, claim.product_id, claim.plan_year, ds.settled_on, ds.amount_fen
                    )
                notify(s, claim, "claim_reversed", amount=yuan_plain(ds.amount_fen))
                s.refresh(ds)
                return _view(s, ds)
        except accumulators.StaleAccumulators:
            continue
    raise E.direct_busy()


def query(inst: InstitutionKey, setl_sn: str) -> dict:
    with read_scope() as s:
        ds = _by_number(s, inst.id, setl_sn)
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
