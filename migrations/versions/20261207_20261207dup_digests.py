"""claims.setl_digest and claim_invoices.number_digest: keyed digests (HMAC-SHA256 under
DUPLICATE_CHECK_KEY, app/claims/digests.py) of a claim's settlement number and of its invoices'
issuer and number, which the duplicate checks compare instead of the numbers. The end of
retention erases the numbers and keeps the digests, so a purged claim still blocks a second
claim of the same settlement or invoice. Every existing row is backfilled here (in Python, the
same HMAC as the application's, so SQLite and PostgreSQL alike); the one-live-claim-per-settlement
index moves from the number to its digest.

Rows the purge erased before this revision have no number left to digest: their settlement
digest stays null and their invoices carry the digest of an empty number, which no invoice has
(a number is 1-40 characters): they block nothing, as before. A downgrade drops the digests: the
numbers the purge erased since are not brought back.

Revision ID: 20261207dup_digests
Revises: 20261206sd_purchase_released
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op

revision = "20261207dup_digests"
down_revision = "20261206sd_purchase_released"
branch_labels = None
depends_on = None

_LIVE_NUMBER = "setl_id IS NOT NULL AND status <> 'rejected'"
_LIVE_DIGEST = "setl_digest IS NOT NULL AND status <> 'rejected'"
_BATCH = 1000


def _key() -> bytes:
    """The application's DUPLICATE_CHECK_KEY: from the running app (flask db-upgrade, the
    development server's first start), else from the environment's profile."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config["DUPLICATE_CHECK_KEY"]
    from app.config import load_config

    return load_config().DUPLICATE_CHECK_KEY


def _digest(key: bytes, purpose: str, value: str) -> str:
    # app.security.crypto.blind_index, written out: a revision must not change with the app
    mac = hmac.new(key, purpose.encode() + b"\x00" + value.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()


def _backfill(table: str, select_sql: str, column: str, digest_of) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(select_sql)).all()
    if not rows:
        return
    key = _key()
    update = sa.text(f"UPDATE {table} SET {column} = :digest WHERE id = :id")
    for start in range(0, len(rows), _BATCH):
        bind.execute(
            update,
            [{"id": r[0], "digest": digest_of(key, *r[1:])} for r in rows[start : start + _BATCH]],
        )


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("setl_digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("claim_invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number_digest", sa.String(length=64), nullable=True))
    _backfill(
        "claims",
        "SELECT id, setl_id FROM claims WHERE setl_id IS NOT NULL",
        "setl_digest",
        lambda key, setl_id: _digest(key, "claim_setl_id", setl_id),
    )
    _backfill(
        "claim_invoices",
        "SELECT id, issuer, number FROM claim_invoices",
        "number_digest",
        lambda key, issuer, number: _digest(key, "claim_invoice", f"{issuer}\x00{number}"),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("uq_claims_person_setl_live")
        batch_op.drop_index(batch_op.f("ix_claims_setl_id"))
        batch_op.create_index(batch_op.f("ix_claims_setl_digest"), ["setl_digest"], unique=False)
        batch_op.create_index(
            "uq_claims_person_setl_live",
            ["person_id", "setl_digest"],
            unique=True,
            sqlite_where=sa.text(_LIVE_DIGEST),
            postgresql_where=sa.text(_LIVE_DIGEST),
        )
        batch_op.create_check_constraint(
            op.f("ck_claims_setl_digest"), "setl_id IS NULL OR setl_digest IS NOT NULL"
        )
    with op.batch_alter_table("claim_invoices", schema=None) as batch_op:
        batch_op.alter_column("number_digest", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_index("ix_claim_invoices_issuer_number")
        batch_op.create_index(
            batch_op.f("ix_claim_invoices_number_digest"), ["number_digest"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("claim_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_invoices_number_digest"))
        batch_op.create_index("ix_claim_invoices_issuer_number", ["issuer", "number"], unique=False)
        batch_op.drop_column("number_digest")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_claims_setl_digest"), type_="check")
        batch_op.drop_index("uq_claims_person_setl_live")
        batch_op.drop_index(batch_op.f("ix_claims_setl_digest"))
        batch_op.create_index(batch_op.f("ix_claims_setl_id"), ["setl_id"], unique=False)
        batch_op.create_index(
            "uq_claims_person_setl_live",
            ["person_id", "setl_id"],
            unique=True,
            sqlite_where=sa.text(_LIVE_NUMBER),
            postgresql_where=sa.text(_LIVE_NUMBER),
        )
        batch_op.drop_column("setl_digest")
