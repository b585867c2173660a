"""campaigns.claimed gives back the places of redemptions whose policy was surrendered before a
surrender gave its place back in its own transaction (app/campaigns/surrender.py): each such
redemption is one place fewer claimed, never below 0. Data only; the downgrade leaves the
counts as they are (the places were free already).

Revision ID: 20261207campaign_places
Revises: 20261207adjudicated_version
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261207campaign_places"
down_revision = "20261207adjudicated_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    given_back = (
        "(SELECT count(*) FROM campaign_redemptions r JOIN policies p ON p.id = r.policy_id"
        " WHERE r.campaign_id = campaigns.id AND p.status = 'surrendered')"
    )
    op.execute(
        sa.text(
            f"UPDATE campaigns SET claimed = CASE WHEN claimed > {given_back}"
            f" THEN claimed - {given_back} ELSE 0 END"
        )
    )


def downgrade() -> None:
    pass
