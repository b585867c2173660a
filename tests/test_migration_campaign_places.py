"""Revision 20261207campaign_places gives back the campaign places of redemptions whose policy
was surrendered before surrender gave them back itself (app/campaigns/surrender.py), on SQLite
and PostgreSQL: a campaign with 3 claimed, one of them surrendered, has 2; one whose only
redemption was surrendered has 0; one with nothing surrendered keeps its count."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import text

from app.migrate import alembic_config
from tests.migration_support import postgres_engine, sqlite_engine
from tests.test_migration_digests import _row

BEFORE = "20261207adjudicated_version"
# campaign id -> claimed before; redemptions (campaign id, policy id, policy status)
CAMPAIGNS = {1: 3, 2: 1, 3: 2}
REDEMPTIONS = [
    (1, 11, "active"),
    (1, 12, "surrendered"),
    (1, 13, "active"),
    (2, 21, "surrendered"),
    (3, 31, "active"),
    (3, 32, "active"),
]
AFTER = {1: 2, 2: 0, 3: 2}


def _given_back(engine) -> None:
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BEFORE)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the rows' parents are not the point here
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        meta = sa.MetaData()
        campaigns = sa.Table("campaigns", meta, autoload_with=conn)
        redemptions = sa.Table("campaign_redemptions", meta, autoload_with=conn)
        policies = sa.Table("policies", meta, autoload_with=conn)
        for campaign_id, claimed in CAMPAIGNS.items():
            conn.execute(
                campaigns.insert(),
                _row(
                    campaigns,
                    id=campaign_id,
                    public_code=f"C{campaign_id}",
                    claimed=claimed,
                    quota=10,
                    status="active",
                ),
            )
        for n, (campaign_id, policy_id, status) in enumerate(REDEMPTIONS, start=1):
            conn.execute(
                policies.insert(),
                _row(
                    policies,
                    id=policy_id,
                    policy_no=f"HMB{policy_id}",
                    person_id=policy_id,
                    order_item_id=policy_id,
                    status=status,
                ),
            )
            conn.execute(
                redemptions.insert(),
                _row(
                    redemptions,
                    id=n,
                    campaign_id=campaign_id,
                    policy_id=policy_id,
                    person_id=policy_id,
                ),
            )
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        got = dict(conn.execute(text("SELECT id, claimed FROM campaigns")).all())
    assert got == AFTER


def test_sqlite_gives_back_the_places(tmp_path):
    with sqlite_engine(tmp_path) as engine:
        _given_back(engine)


@pytest.mark.postgres
def test_postgres_gives_back_the_places():
    with postgres_engine("huimin_cpl") as engine:
        _given_back(engine)
