"""`flask demo seed`: load the shipped products, load the synthetic residents and their 2026
settlement records into the sandbox bureau and create demo staff. Idempotent: re-running updates
the same rows and creates nothing twice."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select

from app.auth.models import StaffAccount
from app.common.money import yuan_to_fen
from app.database import transaction
from app.demo.residents import generate
from app.integrations.bureau.sandbox import encrypt_certno
from app.integrations.bureau.sandbox_models import SandboxResident
from app.integrations.bureau.sandbox_settlements import add_settlement, seed_settlements
from app.integrations.bureau.settlements import SettlementRecord

DEMO_STAFF = [
    # username, role, display name
    ("demo-reviewer", "reviewer", "理赔审核员（演示）"),
    ("demo-operator", "operator", "运营值班员（演示）"),
]
DEMO_STAFF_PASSWORD = "huimin-demo-2026"  # development only; the production profile never seeds


def seed_demo(count: int = 241) -> dict[str, int]:
    if current_app.config["PROFILE"] == "production":
        raise RuntimeError("demo data is never seeded in production")
    from app.products.services import load_products

    products = load_products()  # the shipped definitions; unchanged files change nothing
    residents = generate(count)
    created = updated = 0
    with transaction() as session:
        existing = {r.psn_no: r for r in session.scalars(select(SandboxResident))}
        for demo in residents:
            row = existing.get(demo.psn_no)
            if row is None:
                enc, index = encrypt_certno(demo.certno)
                row = SandboxResident(certno_enc=enc, certno_index=index, psn_no=demo.psn_no)
                session.add(row)
                created += 1
            else:
                updated += 1
            row.psn_name, row.gend, row.brdy = demo.name, demo.gend, demo.brdy
            row.insutype, row.psn_insu_stas = demo.insutype, demo.psn_insu_stas
            row.paus_insu_date, row.insuplc_admdvs = demo.paus_insu_date, demo.insuplc_admdvs
            row.psn_insu_date = demo.psn_insu_date
            row.balc_fen, row.idet_types = demo.balc_fen, list(demo.idet_types)
    with transaction() as session:
        settlements = seed_settlements(session, residents)
    staff_created = _seed_staff()
    return {
        "residents_created": created,
        "residents_updated": updated,
        **settlements,
        "staff_created": staff_created,
        "products_loaded": products["products"],
    }


def _seed_staff() -> int:
    from app.auth.services import create_staff_account

    created = 0
    for username, role, display in DEMO_STAFF:
        with transaction() as session:
            exists = session.scalar(
                select(StaffAccount.id).where(StaffAccount.username == username)
            )
        if exists is None:
            create_staff_account(
                username=username, role=role, password=DEMO_STAFF_PASSWORD, display_name=display
            )
            created += 1
    return created


def add_demo_settlement(
    psn_no: str, amount_yuan: str, care_kind: str = "in_patient", discharged_on: date | None = None
) -> SettlementRecord:
    """`flask demo settlement`: the sandbox bureau records a new settlement of `amount_yuan`
    (the total cost, e.g. "23680.50") for a sandbox resident, split by the sandbox rule
    (app/integrations/bureau/sandbox_settlements.py). Sandbox bureau only, never in production."""
    if (
        current_app.config["PROFILE"] == "production"
        or current_app.config["BUREAU_ADAPTER"] != "sandbox"
    ):
        raise RuntimeError("settlements are only added to the sandbox bureau")
    try:
        fen = yuan_to_fen(amount_yuan)
    except ValueError:
        fen = 0
    if fen <= 0:
        raise ValueError(
            "amount must be a positive number of yuan with at most two decimals, e.g. 23680.50"
        )
    return add_settlement(psn_no, fen, care_kind=care_kind, enddate=discharged_on)
