"""product calendar and renewal: a product's cover-start rule and the product it renews;
renewal consents, runs and outcomes

Revision ID: 20261206year_calendar
Revises: 20261206s1_roster_outcomes
Create Date: 2026-12-06 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261206year_calendar"
down_revision = "20261206s1_roster_outcomes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cover_start_rule",
                sa.String(length=24),
                nullable=False,
                server_default="day_after_payment",
            )
        )
        batch_op.add_column(sa.Column("renews_code", sa.String(length=40), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_products_cover_start_rule"),
            "cover_start_rule IN ('fixed', 'payment_day', 'day_after_payment')",
        )

    op.create_table(
        "renewal_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("auto_debit", sa.Boolean(), nullable=False),
        sa.Column("text_version", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'revoked')", name=op.f("ck_renewal_consents_status")
        ),
        sa.CheckConstraint(
            "source IN ('enrollment', 'member')", name=op.f("ck_renewal_consents_source")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_renewal_consents_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_renewal_consents_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_consents")),
    )
    op.create_index(
        op.f("ix_renewal_consents_member_id"), "renewal_consents", ["member_id"], unique=False
    )
    op.create_index(
        op.f("ix_renewal_consents_person_id"), "renewal_consents", ["person_id"], unique=False
    )
    op.create_index(
        "uq_renewal_consents_active",
        "renewal_consents",
        ["member_id", "person_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "renewal_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("from_product_id", sa.Integer(), nullable=False),
        sa.Column("plan_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("started_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed')",
            name=op.f("ck_renewal_runs_status"),
        ),
        sa.CheckConstraint(
            "processed >= 0 AND processed <= total", name=op.f("ck_renewal_runs_counts")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_renewal_runs_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["from_product_id"],
            ["products.id"],
            name=op.f("fk_renewal_runs_from_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["started_by_staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_renewal_runs_started_by_staff_id_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_runs")),
    )
    op.create_index(op.f("ix_renewal_runs_product_id"), "renewal_runs", ["product_id"])
    op.create_index(
        "uq_renewal_runs_one_active",
        "renewal_runs",
        ["product_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )

    op.create_table(
        "renewal_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("from_policy_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'renewed', 'awaiting_payment', 'not_eligible', "
            "'already_insured', 'failed')",
            name=op.f("ck_renewal_outcomes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["renewal_runs.id"], name=op.f("fk_renewal_outcomes_run_id_renewal_runs")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_renewal_outcomes_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["renewal_consents.id"],
            name=op.f("fk_renewal_outcomes_consent_id_renewal_consents"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_renewal_outcomes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_renewal_outcomes_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["from_policy_id"],
            ["policies.id"],
            name=op.f("fk_renewal_outcomes_from_policy_id_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_renewal_outcomes_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_renewal_outcomes_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_outcomes")),
        sa.UniqueConstraint(
            "product_id", "consent_id", name=op.f("uq_renewal_outcomes_product_id_consent_id")
        ),
    )
    op.create_index(op.f("ix_renewal_outcomes_run_id"), "renewal_outcomes", ["run_id"])
    op.create_index(op.f("ix_renewal_outcomes_member_id"), "renewal_outcomes", ["member_id"])


def downgrade() -> None:
    op.drop_table("renewal_outcomes")
    op.drop_table("renewal_runs")
    op.drop_table("renewal_consents")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_cover_start_rule"), type_="check")
        batch_op.drop_column("renews_code")
        batch_op.drop_column("cover_start_rule")
