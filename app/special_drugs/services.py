"""Special-drug applications: a member applies for a listed drug for an insured person on a
policy they may claim on (claims' own access rule, app.claims.common.actable_policy), adds the
prescription and diagnostic proof through the claims' document pipeline (sanitised, then
stored), and submits; a reviewer reads it (audited), approves the indication for the configured
period at the catalogue's designated pharmacies, or rejects it with a reason code."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.catalogues.models import CatalogueKind
from app.catalogues.rules import SpecialDrug, SpecialDrugCatalogue
from app.catalogues.services import entries_in_force
from app.claims.common import actable_policy, rows_changed, verified_member
from app.common.clock import SHANGHAI, today_shanghai
from app.database import get_session, read_scope, transaction, utcnow
from app.documents import store as stored
from app.error_catalogue import E
from app.members import privacy
from app.policies.models import Policy, PolicyStatus
from app.special_drugs import rules
from app.special_drugs.models import (
    ApplicationStatus,
    SpecialDrugApplication,
    SpecialDrugDocument,
    SpecialDrugPurchase,
)

log = logging.getLogger(__name__)


def _new_no() -> str:
    return "SD" + datetime.now(SHANGHAI).strftime("%Y%m%d") + secrets.token_hex(6).upper()


def catalogue_for(session: Session, policy: Policy) -> SpecialDrugCatalogue | None:
    found = entries_in_force(
        policy.product_id, CatalogueKind.SPECIAL_DRUG, today_shanghai(), session=session
    )
    assert found is None or isinstance(found, SpecialDrugCatalogue)
    return found


def listed_drug(session: Session, policy: Policy, drug_code: str) -> tuple[str, SpecialDrug]:
    """The drug on the product's 特药目录 in force today, with the version's label."""
    catalogue = catalogue_for(session, policy)
    drug = catalogue.drug(drug_code) if catalogue is not None else None
    if catalogue is None or drug is None:
        raise E.special_drug_not_listed()
    return catalogue.version, drug


def catalogue(member_id: int, policy_id: int) -> dict[str, Any]:
    """The special drugs a member may apply for on this policy (the list in force today)."""
    with read_scope() as s:
        policy = actable_policy(s, member_id, policy_id)
        found = catalogue_for(s, policy)
        if found is None:
            return {"version": None, "drugs": []}
        return {
            "version": found.version,
            "drugs": [
                {
                    "drug_code": d.drug_code,
                    "drug_name": d.drug_name,
                    "indications": list(d.indications),
                    "annual_cap_fen": d.annual_cap_fen,
                    "pharmacies": list(d.pharmacies),
                    "preauth_required": d.preauth_required,
                }
                for d in found.drugs
            ],
        }


# --- the member's side ----------------------------------------------------------------------------


def own_application(
    session: Session, member_id: int, application_id: int, *, lock: bool = False
) -> SpecialDrugApplication:
    """The member's application (404 for anyone else's); `lock` takes its row FOR UPDATE."""
    stmt = select(SpecialDrugApplication).where(
        SpecialDrugApplication.id == application_id,
        SpecialDrugApplication.member_id == member_id,
    )
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise E.special_drug_application_not_found()
    return found


def _close_expired(session: Session, person_id: int, drug_code: str) -> None:
    """An approval whose period has ended no longer blocks a new application."""
    session.execute(
        update(SpecialDrugApplication)
        .where(
            SpecialDrugApplication.person_id == person_id,
            SpecialDrugApplication.drug_code == drug_code,
            SpecialDrugApplication.status == ApplicationStatus.APPROVED,
            SpecialDrugApplication.valid_to < today_shanghai(),
        )
        .values(status=ApplicationStatus.EXPIRED, updated_at=utcnow())
    )


def apply(
    member_id: int, *, policy_id: int, drug_code: str, indication: str
) -> SpecialDrugApplication:
    """A draft application for one drug and one of its listed indications."""
    try:
        with transaction() as s:
            privacy.refuse_if_withdrawn(*privacy.member_and_consent(s, member_id), "new_claim")
            verified_member(s, member_id)
            policy = actable_policy(s, member_id, policy_id)
            if policy.status != PolicyStatus.ACTIVE or policy.coverage_end < today_shanghai():
                raise E.special_drug_policy_not_in_force()
            version, drug = listed_drug(s, policy, drug_code)
            chosen = rules.listed_indication(indication, drug.indications)
            if chosen is None:
                raise E.special_drug_indication_not_listed(
                    "该药品目录内的适应症为：" + "；".join(drug.indications)
                )
            _close_expired(s, policy.person_id, drug.drug_code)
            application = SpecialDrugApplication(
                application_no=_new_no(),
                member_id=member_id,
                person_id=policy.person_id,
                policy_id=policy.id,
                product_id=policy.product_id,
                plan_year=policy.plan_year,
                catalogue_version=version,
                drug_code=drug.drug_code,
                drug_name=drug.drug_name,
                indication=chosen,
                status=ApplicationStatus.DRAFT,
                pharmacies=list(drug.pharmacies),
                annual_cap_fen=drug.annual_cap_fen,
            )
            s.add(application)
            s.flush()
            audit(
                s,
                actor_type="member",
                actor_id=member_id,
                action="special_drug.applied",
                object_type="special_drug_application",
                object_id=application.id,
                detail={"drug_code": drug.drug_code},
            )
    except IntegrityError:
        # the partial unique index: a live application for this person and drug exists
        raise E.special_drug_application_exists() from None
    return application


def list_applications(member_id: int) -> list[SpecialDrugApplication]:
    return list(
        get_session().scalars(
            select(SpecialDrugApplication)
            .where(SpecialDrugApplication.member_id == member_id)
            .order_by(SpecialDrugApplication.id.desc())
            .limit(100)
        )
    )


def get_application(member_id: int, application_id: int) -> SpecialDrugApplication:
    return own_application(get_session(), member_id, application_id)


def upload_document(
    member_id: int, application_id: int, doc_type: str, data: bytes, media_type: str | None
) -> SpecialDrugDocument:
    """Sanitised (app.documents.sanitise: type read from the bytes, images re-encoded without
    metadata) and stored before the row is written; a row that does not commit removes the blob."""
    from app.integrations.storage.port import new_key

    with read_scope() as s:  # a first look, ended before the bytes are sanitised and stored
        _refuse_unless_room(s, own_application(s, member_id, application_id))
    key = new_key(f"special-drugs/{application_id}")
    clean = stored.store(data, media_type, key, owner=f"member:{member_id}")
    # The binding check: under the application's row lock, in the transaction that inserts.
    with stored.recorded(key), transaction() as s:
        application = own_application(s, member_id, application_id, lock=True)
        _refuse_unless_room(s, application)
        doc = SpecialDrugDocument(
            application_id=application.id,
            doc_type=doc_type,
            storage_key=key,
            media_type=clean.media_type,
            size_bytes=len(clean.content),
            sha256=clean.sha256,
        )
        s.add(doc)
    return doc


def _refuse_unless_room(session: Session, application: SpecialDrugApplication) -> None:
    if application.status != ApplicationStatus.DRAFT:
        raise E.special_drug_application_not_editable()
    limit = current_app.config["CLAIM_DOCUMENTS_MAX"]
    count = session.scalar(
        select(func.count())
        .select_from(SpecialDrugDocument)
        .where(SpecialDrugDocument.application_id == application.id)
    )
    if (count or 0) >= limit:
        raise E.too_many_documents(f"每笔申请最多上传 {limit} 份材料")


def documents_of(session: Session, application_id: int) -> list[SpecialDrugDocument]:
    return list(
        session.scalars(
            select(SpecialDrugDocument)
            .where(SpecialDrugDocument.application_id == application_id)
            .order_by(SpecialDrugDocument.id)
        )
    )


def submit(member_id: int, application_id: int) -> SpecialDrugApplication:
    with transaction() as s:
        application = own_application(s, member_id, application_id)
        if application.status != ApplicationStatus.DRAFT:
            return application  # a repeated submit changes nothing
        missing = rules.missing_proofs(d.doc_type for d in documents_of(s, application.id))
        if missing:
            raise E.special_drug_proof_missing(
                "缺少材料：" + "、".join(rules.DOCUMENT_LABELS[m] for m in missing),
                errors={"json": {"documents": missing}},
            )
        _move(
            s,
            application,
            ApplicationStatus.DRAFT,
            ApplicationStatus.PENDING_REVIEW,
            submitted_at=utcnow(),
        )
        audit(
            s,
            actor_type="member",
            actor_id=member_id,
            action="special_drug.submitted",
            object_type="special_drug_application",
            object_id=application.id,
        )
    return application


def _move(
    session: Session,
    application: SpecialDrugApplication,
    old: ApplicationStatus,
    new: ApplicationStatus,
    **changes: Any,
) -> None:
    """A conditional UPDATE on the status read: a concurrent decision makes this one a 409."""
    moved = rows_changed(
        session,
        update(SpecialDrugApplication)
        .where(SpecialDrugApplication.id == application.id, SpecialDrugApplication.status == old)
        .values(status=new, updated_at=utcnow(), **changes),
    )
    if moved != 1:
        raise E.special_drug_application_state_conflict()
    session.refresh(application)


# --- reviewers ------------------------------------------------------------------------------------


def queue(
    status: str | None, before_id: int | None, limit: int = 50
) -> list[SpecialDrugApplication]:
    stmt = select(SpecialDrugApplication).where(
        SpecialDrugApplication.status == (status or ApplicationStatus.PENDING_REVIEW)
    )
    if before_id is not None:
        stmt = stmt.where(SpecialDrugApplication.id < before_id)
    return list(get_session().scalars(stmt.order_by(SpecialDrugApplication.id.desc()).limit(limit)))


def _staff_application(session: Session, application_id: int) -> SpecialDrugApplication:
    found = session.get(SpecialDrugApplication, application_id)
    if found is None or found.status == ApplicationStatus.DRAFT:
        raise E.special_drug_application_not_found()
    return found


def staff_get(actor: Principal, application_id: int) -> SpecialDrugApplication:
    """Health data: the read is audited (committed before the answer leaves)."""
    with transaction() as s:
        application = _staff_application(s, application_id)
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="special_drug.read",
            object_type="special_drug_application",
            object_id=application.id,
        )
    return application


def approve(actor: Principal, application_id: int, reason: str | None) -> SpecialDrugApplication:
    """Approve the indication from today for SPECIAL_DRUG_APPROVAL_DAYS days (never past the end
    of the policy's cover) at the designated pharmacies of the catalogue in force today."""
    with transaction() as s:
        application = _staff_application(s, application_id)
        if application.status == ApplicationStatus.APPROVED:
            return application  # approving twice changes nothing
        if application.status != ApplicationStatus.PENDING_REVIEW:
            raise E.special_drug_application_state_conflict()
        policy = s.get(Policy, application.policy_id)
        assert policy is not None, "application without its policy"
        today = today_shanghai()
        if policy.status != PolicyStatus.ACTIVE or policy.coverage_end < today:
            raise E.special_drug_policy_not_in_force()
        _, drug = listed_drug(s, policy, application.drug_code)
        valid_from, valid_to = rules.approval_period(
            max(today, policy.coverage_start),
            current_app.config["SPECIAL_DRUG_APPROVAL_DAYS"],
            policy.coverage_end,
        )
        _move(
            s,
            application,
            ApplicationStatus.PENDING_REVIEW,
            ApplicationStatus.APPROVED,
            valid_from=valid_from,
            valid_to=valid_to,
            pharmacies=list(drug.pharmacies),
            annual_cap_fen=drug.annual_cap_fen,
            reviewed_by_staff_id=actor.id,
            reason=reason,
            decided_at=utcnow(),
        )
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="special_drug.approved",
            object_type="special_drug_application",
            object_id=application.id,
            detail={"valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat()},
        )
    return application


def reject(
    actor: Principal, application_id: int, reason_code: str, reason: str
) -> SpecialDrugApplication:
    with transaction() as s:
        application = _staff_application(s, application_id)
        if application.status != ApplicationStatus.PENDING_REVIEW:
            raise E.special_drug_application_state_conflict()
        _move(
            s,
            application,
            ApplicationStatus.PENDING_REVIEW,
            ApplicationStatus.REJECTED,
            reviewed_by_staff_id=actor.id,
            reason_code=reason_code,
            reason=reason,
            decided_at=utcnow(),
        )
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="special_drug.rejected",
            object_type="special_drug_application",
            object_id=application.id,
            detail={"reason_code": reason_code},
        )
    return application


def blob(key: str) -> bytes:
    return stored.read(key, "special-drug document")


def staff_document(
    actor: Principal, application_id: int, doc_id: int
) -> tuple[SpecialDrugDocument, bytes]:
    """A reviewer reads a proof; audited in its own committed transaction first."""
    with transaction() as s:
        application = _staff_application(s, application_id)
        doc = s.scalar(
            select(SpecialDrugDocument).where(
                SpecialDrugDocument.id == doc_id,
                SpecialDrugDocument.application_id == application.id,
            )
        )
        if doc is None:
            raise E.document_not_found()
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="special_drug.document.read",
            object_type="special_drug_document",
            object_id=doc.id,
            detail={"application_id": application.id},
        )
    return doc, blob(doc.storage_key)


# --- views ----------------------------------------------------------------------------------------


def view(application: SpecialDrugApplication, *, staff: bool = False) -> dict[str, Any]:
    s = get_session()
    docs = documents_of(s, application.id)
    purchases = s.scalars(
        select(SpecialDrugPurchase)
        .where(SpecialDrugPurchase.application_id == application.id)
        .order_by(SpecialDrugPurchase.id)
    )
    found: dict[str, Any] = {
        "id": application.id,
        "application_no": application.application_no,
        "policy_id": application.policy_id,
        "plan_year": application.plan_year,
        "catalogue_version": application.catalogue_version,
        "drug_code": application.drug_code,
        "drug_name": application.drug_name,
        "indication": application.indication,
        "status": application.status,
        "valid_from": application.valid_from,
        "valid_to": application.valid_to,
        "pharmacies": list(application.pharmacies or []),
        "annual_cap_fen": application.annual_cap_fen,
        "reason_code": application.reason_code,
        "reason": application.reason,
        "missing_documents": rules.missing_proofs(d.doc_type for d in docs),
        "documents": [
            {
                "id": d.id,
                "doc_type": d.doc_type,
                "media_type": d.media_type,
                "uploaded_at": d.uploaded_at,
            }
            for d in docs
        ],
        "purchases": [purchase_view(p) for p in purchases],
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
        "decided_at": application.decided_at,
    }
    if staff:
        found["member_id"] = application.member_id
    return found


def purchase_view(p: SpecialDrugPurchase) -> dict[str, Any]:
    return {
        "id": p.id,
        "application_id": p.application_id,
        "claim_id": p.claim_id,
        "pharmacy": p.pharmacy,
        "purchased_on": p.purchased_on,
        "quantity": p.quantity,
        "amount_fen": p.amount_fen,
        "counted_fen": p.counted_fen,
        "not_counted_fen": p.amount_fen - p.counted_fen,
        "status": p.status,
        "reasons": list(p.reasons or []),
        "created_at": p.created_at,
    }
