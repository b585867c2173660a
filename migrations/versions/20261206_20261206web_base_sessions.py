"""staff console sessions (app/web): an opaque cookie token's digest, the staff account, the
CSRF token and when the session was last used or ended

Revision ID: 20261206web_base_sessions
Revises: 20261206year_calendar
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206web_base_sessions"
down_revision = "20261206year_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_staff_web_sessions_staff_id_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_web_sessions_token_hash")),
    )
    with op.batch_alter_table("staff_web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_web_sessions_staff_id"), ["staff_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_web_sessions_staff_id"))
    op.drop_table("staff_web_sessions")
