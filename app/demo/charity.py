"""A demo charity and its admin for the sponsorship walk-through (development only): 赣州市慈善
总会 (a charity, 统一社会信用代码 with prefix 5) and the staff account `demo-charity`
(charity_admin, password as the other demo staff). Idempotent."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import StaffAccount
from app.database import read_scope
from app.sponsors.models import Organisation
from app.sponsors.rules import uscc_check_char

CHARITY_USCC_17 = "53360700MJ1234567"
CHARITY_NAME = "赣州市慈善总会（演示）"


def seed_charity(password: str) -> dict[str, int]:
    from app.audit.services import record as audit
    from app.auth.services import create_staff_account
    from app.database import transaction

    uscc = CHARITY_USCC_17 + uscc_check_char(CHARITY_USCC_17)
    with read_scope() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.uscc == uscc))
        admin = s.scalar(select(StaffAccount.id).where(StaffAccount.username == "demo-charity"))
    created = 0
    if org_id is None:
        with transaction() as t:
            org = Organisation(uscc=uscc, name=CHARITY_NAME, kind="charity")
            t.add(org)
            t.flush()
            audit(
                t,
                actor_type="system",
                actor_id=None,
                action="organisation.created",
                object_type="organisation",
                object_id=org.id,
                detail={"kind": "charity"},
            )
            org_id = org.id
        created += 1
    if admin is None:
        create_staff_account(
            username="demo-charity",
            role="charity_admin",
            password=password,
            display_name="慈善总会项目专员（演示）",
            organisation_id=org_id,
        )
        created += 1
    return {"charity_created": created, "charity_organisation_id": org_id}
