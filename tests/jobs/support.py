"""Helpers for roster and batch-enrollment tests: an employer (or charity) with a roster-only
programme, roster files built from the sandbox's demo residents, and the HTTP calls an
organisation's admin makes."""

from __future__ import annotations

import io
import uuid

from sqlalchemy import func, select

from app.database import get_session
from app.demo.residents import generate
from tests.conftest import bearer
from tests.sponsors.conftest import CHARITY_USCC, EMPLOYER_USCC

PREMIUM_FEN = 8900  # ganzhou-demo-2026: flat 89 yuan
RESIDENTS = generate(240)


def eligible(count: int, skip: int = 0) -> list:
    """Demo residents the product accepts: basic insurance active, insured in 赣州 (3607)."""
    found = [r for r in RESIDENTS if r.psn_insu_stas == "1" and r.insuplc_admdvs.startswith("3607")]
    return found[skip : skip + count]


def by_name(name: str):
    return next(r for r in RESIDENTS if r.name == name)


def roster_csv(residents, *extra_lines: str) -> bytes:
    lines = (
        ["姓名,身份证号,类别"] + [f"{r.name},{r.certno}," for r in residents] + list(extra_lines)
    )
    return ("\n".join(lines) + "\n").encode("utf-8")


def upload(client, token: str, programme_id: int, data: bytes, filename: str = "roster.csv"):
    return client.post(
        f"/staff/programmes/{programme_id}/roster/uploads",
        headers=bearer(token),
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def terms_version(client) -> str:
    return client.get("/products/current").get_json()["terms_version"]


def start_job(client, token: str, programme_id: int, version: str | None = None):
    return client.post(
        f"/staff/programmes/{programme_id}/enrollment-jobs",
        headers={**bearer(token), "Idempotency-Key": uuid.uuid4().hex},
        json={"terms": {"version": version or terms_version(client), "accepted": True}},
    )


def read_job(client, token: str, programme_id: int, job_id: int) -> dict:
    resp = client.get(
        f"/staff/programmes/{programme_id}/enrollment-jobs/{job_id}", headers=bearer(token)
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def job_rows(client, token: str, programme_id: int, job_id: int, **query) -> dict:
    resp = client.get(
        f"/staff/programmes/{programme_id}/enrollment-jobs/{job_id}/rows",
        headers=bearer(token),
        query_string={"page_size": 100, **query},
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def employer_programme(sponsors, *, budget_fen: int, quota=None, rule=None, kind="employer"):
    """An employer (or charity) with a roster-only programme funded with `budget_fen`; the
    admin's token and the programme."""
    if kind == "employer":
        org = sponsors.organisation(EMPLOYER_USCC, "赣州示范科技有限公司", "employer")
        admin = sponsors.admin(org["id"], "employer_admin")
    else:
        org = sponsors.organisation(CHARITY_USCC, "赣州市慈善总会", "charity")
        admin = sponsors.admin(org["id"], "charity_admin")
    programme = sponsors.programme(
        admin,
        rule=rule or {"kind": "full"},
        roster_only=True,
        quota=quota,
        budget_fen=budget_fen,
        name="名单资助项目",
    )
    return admin, programme


def employer_programme_via(client, admin: str, *, name: str, budget_fen: int) -> int:
    """A full-premium roster-only programme made through HTTP by `admin`, funded; its id."""
    resp = client.post(
        "/staff/programmes",
        headers=bearer(admin),
        json={
            "name": name,
            "plan_year": 2026,
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "rule": {"kind": "full"},
            "eligibility": {"roster_only": True},
        },
    )
    assert resp.status_code == 201, resp.get_json()
    programme_id = resp.get_json()["id"]
    topped = client.post(
        f"/staff/programmes/{programme_id}/top-ups",
        headers={**bearer(admin), "Idempotency-Key": uuid.uuid4().hex},
        json={"amount_fen": budget_fen},
    )
    assert topped.status_code == 200, topped.get_json()
    return programme_id


def counts(app) -> dict:
    """Rows in the tables a batch enrollment writes (of the programme ledger, reservations)."""
    from app.audit.models import AuditEvent
    from app.enrollment.models import LedgerEntry, Order, OrderItem
    from app.policies.models import Policy
    from app.sponsors.models import ProgrammeLedgerEntry

    with app.app_context():
        s = get_session()
        found = {
            name: s.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("orders", Order),
                ("items", OrderItem),
                ("ledger", LedgerEntry),
                ("policies", Policy),
            )
        }
        found["programme_ledger"] = s.scalar(
            select(func.count())
            .select_from(ProgrammeLedgerEntry)
            .where(ProgrammeLedgerEntry.kind == "reserve")
        )
        found["people_insured"] = s.scalar(select(func.count(func.distinct(Policy.person_id))))
        found["issued_audits"] = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "policy.issued")
        )
        s.rollback()
        return found


def ledgers_consistent(app, programme_id: int) -> None:
    from app.payments.ledger import check_ledger
    from app.sponsors.services import check_programmes

    with app.app_context():
        assert check_ledger() == []
        assert check_programmes([programme_id]) == []
