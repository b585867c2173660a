"""A claim's documents: upload (sanitised, stored, then recorded), the member's and the assigned
reviewer's reads (the staff read is audited before the bytes leave), deletion while editable."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.claims.common import own_claim
from app.claims.models import Claim, ClaimDocument
from app.claims.workflow import EDITABLE
from app.database import get_session, read_scope, transaction, utcnow
from app.documents import store as stored
from app.error_catalogue import E

log = logging.getLogger(__name__)


def upload_document(
    member_id: int, claim_id: int, doc_type: str, data: bytes, declared_media_type: str | None
) -> ClaimDocument:
    from app.integrations.storage.port import claim_document_key

    # A first look, ended before the bytes are sanitised and stored: a full or closed claim is
    # refused without the expensive part.
    with read_scope() as s:
        _refuse_unless_room(s, own_claim(s, member_id, claim_id))
    key = claim_document_key(claim_id)
    clean = stored.store(data, declared_media_type, key, owner=f"member:{member_id}")
    # The binding check: under the claim's row lock, in the transaction that inserts, so
    # concurrent uploads are counted one after another (45 at once store exactly the limit).
    with stored.recorded(key), transaction() as s:
        claim = own_claim(s, member_id, claim_id, lock=True)
        _refuse_unless_room(s, claim)
        doc = ClaimDocument(
            claim_id=claim.id,
            doc_type=doc_type,
            storage_key=key,
            media_type=clean.media_type,
            size_bytes=len(clean.content),
            sha256=clean.sha256,
        )
        s.add(doc)
    return doc


def _refuse_unless_room(session: Session, claim: Claim) -> None:
    if claim.status not in EDITABLE:
        raise E.claim_not_editable()
    limit = current_app.config["CLAIM_DOCUMENTS_MAX"]
    count = session.scalar(
        select(func.count())
        .select_from(ClaimDocument)
        .where(ClaimDocument.claim_id == claim.id, ClaimDocument.deleted_at.is_(None))
    )
    if (count or 0) >= limit:
        raise E.too_many_documents(f"每笔理赔最多上传 {limit} 份材料")


def _document(session: Session, claim: Claim, doc_id: int) -> ClaimDocument:
    doc = session.scalar(
        select(ClaimDocument).where(
            ClaimDocument.id == doc_id,
            ClaimDocument.claim_id == claim.id,
            ClaimDocument.deleted_at.is_(None),
        )
    )
    if doc is None:
        raise E.document_not_found()
    return doc


def _blob(key: str) -> bytes:
    return stored.read(key, "claim document")


def member_document(member_id: int, claim_id: int, doc_id: int) -> tuple[ClaimDocument, bytes]:
    s = get_session()
    doc = _document(s, own_claim(s, member_id, claim_id), doc_id)
    return doc, _blob(doc.storage_key)


def delete_document(member_id: int, claim_id: int, doc_id: int) -> None:
    with transaction() as s:
        claim = own_claim(s, member_id, claim_id)
        if claim.status not in EDITABLE:
            raise E.claim_not_editable()
        _document(s, claim, doc_id).deleted_at = utcnow()


def staff_document(actor: Principal, claim_id: int, doc_id: int) -> tuple[ClaimDocument, bytes]:
    """Only the reviewer the claim is assigned to; the read is audited in its own committed
    transaction before the bytes leave."""
    with transaction() as s:
        claim = s.get(Claim, claim_id)
        if claim is None or claim.assigned_staff_id != actor.id:
            raise E.document_not_found()
        doc = _document(s, claim, doc_id)
        audit(
            s,
            actor_type="staff",
            actor_id=actor.id,
            action="claim.document.read",
            object_type="claim_document",
            object_id=doc.id,
            detail={"claim_id": claim.id},
        )
    return doc, _blob(doc.storage_key)
