"""Every migration's revision id fits alembic_version.version_num (VARCHAR(32) on PostgreSQL):
a longer one makes `db-upgrade` fail on PostgreSQL while SQLite, which ignores the length,
passes."""

from __future__ import annotations

import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def test_every_revision_id_fits_alembic_version_num():
    ids = [
        re.search(r'^revision = ["\']([^"\']+)["\']', p.read_text(), re.M).group(1)
        for p in sorted(VERSIONS.glob("*.py"))
    ]
    assert ids and all(len(i) <= 32 for i in ids), [i for i in ids if len(i) > 32]
