"""A demo charity and its admin for the sponsorship walk-through (development only): 赣州市慈善
总会 (a charity, 统一社会信用代码 with prefix 5), the staff account `demo-charity`
(charity_admin, password as the other demo staff), and a full-premium, roster-only programme of
the newest product's plan year with a budget of 100 premiums, so the admin can upload a roster
and enroll it from the sponsor console at once. Idempotent."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import StaffAccount
from app.database import read_scope
from app.sponsors.models import Organisation
from app.sponsors.rules import uscc_check_char

CHARITY_USCC_17 = "53360700MJ1234567"
CHARITY_NAME = "赣州市慈善总会（演示）"
PROGRAMME_NAME = "慈善助保·困难群众名单（演示）"
PROGRAMME_BUDGET_PREMIUMS = 100


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
    programme_id, made = _seed_programme(org_id)
    return {
        "charity_created": created + made,
        "charity_organisation_id": org_id,
        "charity_programme_id": programme_id,
    }


def _seed_programme(org_id: int) -> tuple[int, int]:
    """The charity's demo programme (made through the sponsor services, as its admin would)
    and whether it was made now. Needs a product (seed_demo loads them first)."""

    from app.auth.principal import Principal
    from app.common.clock import today_shanghai
    from app.products.models import Product
    from app.products.services import current_product, definition_of
    from app.sponsors.models import Programme
    from app.sponsors.services import create_programme, top_up

    with read_scope() as s:
        found = s.scalar(
            select(Programme.id).where(
                Programme.organisation_id == org_id, Programme.name == PROGRAMME_NAME
            )
        )
        if found is not None:
            return found, 0
        # The plan year on sale today (the latest when two are), else the latest loaded.
        product = current_product(today_shanghai()) or s.scalar(
            select(Product).order_by(Product.plan_year.desc(), Product.id.desc())
        )
        if product is None:
            raise RuntimeError("no product loaded: run the demo seed (it loads products) first")
        defn = definition_of(product)
        plan_year, premium = product.plan_year, defn.premium_default_fen
        # The programme pays from the day the plan year goes on sale to the end of its cover.
        starts_on, ends_on = defn.window_opens, defn.coverage_ends
        admin_id = s.scalar(select(StaffAccount.id).where(StaffAccount.username == "demo-charity"))
    assert admin_id is not None  # made by seed_charity before this
    admin = Principal(kind="staff", id=admin_id, role="charity_admin", organisation_id=org_id)
    programme = create_programme(
        admin,
        name=PROGRAMME_NAME,
        plan_year=plan_year,
        starts_on=starts_on,
        ends_on=ends_on,
        rule={"kind": "full"},
        eligibility={"roster_only": True},
        quota=None,
        product_id=None,
    )
    top_up(admin, programme.id, PROGRAMME_BUDGET_PREMIUMS * premium)
    return programme.id, 1
