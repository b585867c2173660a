"""Sponsor reports: what an organisation's own admins see about the cover they paid for.

Every report is for the caller's own organisation only (an admin's account is scoped to one).
The organisation's *beneficiaries* are the people whose policies its programmes paid for, i.e.
the order items with a `sponsor_subsidy` premium-ledger entry from one of its programmes.

- `summary`: per programme, the budget, what was spent (premium-ledger subsidies net of sponsor
  refunds), what is promised to unpaid orders, what is unspent, active policies and
  beneficiaries; with the organisation's totals.
- `beneficiaries`: one row per funded policy, the name and ID number masked, the policy status,
  the programmes that paid and how much; paginated. Masking needs the ID number decrypted, so
  every page read writes an audit row in the same transaction.
- `donations` / `donations_csv`: each top-up (and any money handed back) from the programme
  ledger, with the organisation's name and 统一社会信用代码, for its tax-deduction paperwork; the
  CSV is UTF-8 with a BOM so Excel opens it with the Chinese intact.
- `outcomes`: per plan year, the number and sum of claims paid for its beneficiaries, and nothing
  else about them (no person, no diagnosis, no hospital). A claims count below
  SPONSOR_REPORT_MIN_CELL is suppressed together with its sum. Only per-plan-year cells are
  given, with no total across years, so no suppressed cell can be recovered by subtraction.
  The claims live in another capability: it plugs its query in at the hook point
  `sponsors.claims_paid` (app/common/hooks.py); without one the report fails loudly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.auth.principal import Principal
from app.common import hooks
from app.common.clock import SHANGHAI
from app.common.money import yuan
from app.common.pagination import Page, paginate
from app.database import read_scope, transaction
from app.error_catalogue import E
from app.policies.models import PolicyStatus
from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry
from app.sponsors.rules import FULL_BASIS_POINTS, round_half_up_div

SPENT_KINDS = ("sponsor_subsidy", "sponsor_refund")
DONATION_KINDS = ("top_up", "refund")
DONATION_LABELS = {"top_up": "捐赠（预算充值）", "refund": "退回"}


# --- the outcomes seam -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimsPaid:
    count: int  # claims paid
    paid_fen: int  # their sum


# (session, a SELECT of policy ids) -> the claims paid on those policies.
OutcomesProvider = Callable[[Session, Select], ClaimsPaid]


def no_claims(_session: Session, _policy_ids: Select) -> ClaimsPaid:
    """For an app with no claims capability, registered explicitly: nothing has been paid."""
    return ClaimsPaid(0, 0)


def register_outcomes_provider(app: Flask, provider: OutcomesProvider) -> None:
    """Plug in the claims query, e.g. count and sum of `paid_fen` of claims with status 'paid'
    whose policy_id is in the given SELECT (the hook point `sponsors.claims_paid`)."""
    hooks.register(hooks.CLAIMS_PAID, provider, app=app)


def _claims_paid(session: Session, policy_ids: Select) -> ClaimsPaid:
    paid = hooks.call(hooks.CLAIMS_PAID, session, policy_ids)
    for value in (paid.count, paid.paid_fen):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuntimeError("the outcomes provider must return whole, non-negative figures")
    return paid


# --- scoping ---------------------------------------------------------------------------------


def _own_organisation(session, actor: Principal) -> Organisation:
    org = session.get(Organisation, actor.organisation_id) if actor.organisation_id else None
    if org is None:
        raise E.organisation_not_found()
    return org


def _own_programme_ids(org_id: int, programme_id: int | None = None) -> Select:
    query = select(Programme.id).where(Programme.organisation_id == org_id)
    if programme_id is not None:
        query = query.where(Programme.id == programme_id)
    return query


def _check_own_programme(session, org_id: int, programme_id: int | None) -> None:
    if (
        programme_id is not None
        and session.scalar(_own_programme_ids(org_id, programme_id)) is None
    ):
        raise E.programme_not_found()


def _funded_items(programme_ids: Select) -> Select:
    """Order items one of these programmes paid a subsidy for (paid orders only: the premium
    ledger's sponsor_subsidy entries are written when an order is paid)."""
    from app.enrollment.models import LedgerEntry

    return select(LedgerEntry.order_item_id).where(
        LedgerEntry.kind == "sponsor_subsidy", LedgerEntry.programme_id.in_(programme_ids)
    )


def _spent_by_programme(session, programme_ids: Select) -> dict[int, int]:
    from app.enrollment.models import LedgerEntry

    rows = session.execute(
        select(LedgerEntry.programme_id, func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
        .where(LedgerEntry.kind.in_(SPENT_KINDS), LedgerEntry.programme_id.in_(programme_ids))
        .group_by(LedgerEntry.programme_id)
    )
    return {pid: int(total) for pid, total in rows}


# --- summary ---------------------------------------------------------------------------------


def spent_basis_points(spent_fen: int, budget_fen: int) -> int:
    """Spend against budget in basis points, half up (2,670 of 8,900 fen -> 3000 = 30.00%);
    0 for a programme with no budget yet."""
    if budget_fen <= 0:
        return 0
    return round_half_up_div(max(spent_fen, 0) * FULL_BASIS_POINTS, budget_fen)


def summary(actor: Principal, *, plan_year: int | None = None) -> dict:
    from app.enrollment.models import LedgerEntry
    from app.policies.models import Policy

    with read_scope() as session:
        org = _own_organisation(session, actor)
        query = select(Programme).where(Programme.organisation_id == org.id)
        if plan_year is not None:
            query = query.where(Programme.plan_year == plan_year)
        programmes = list(session.scalars(query.order_by(Programme.id)))
        ids = select(Programme.id).where(Programme.id.in_([p.id for p in programmes]))
        spent = _spent_by_programme(session, ids)
        active = dict(
            session.execute(
                select(LedgerEntry.programme_id, func.count(func.distinct(Policy.id)))
                .join(Policy, Policy.order_item_id == LedgerEntry.order_item_id)
                .where(
                    LedgerEntry.kind == "sponsor_subsidy",
                    LedgerEntry.programme_id.in_(ids),
                    Policy.status == PolicyStatus.ACTIVE,
                )
                .group_by(LedgerEntry.programme_id)
            ).all()
        )
        rows: list[dict[str, Any]] = []
        for p in programmes:
            spent_fen = spent.get(p.id, 0)
            rows.append(
                {
                    "programme_id": p.id,
                    "name": p.name,
                    "plan_year": p.plan_year,
                    "status": p.status,
                    "budget_total_fen": p.budget_total_fen,
                    "spent_fen": spent_fen,
                    "spent_bp": spent_basis_points(spent_fen, p.budget_total_fen),
                    "reserved_unpaid_fen": p.budget_reserved_fen - spent_fen,
                    "unspent_fen": p.budget_total_fen - p.budget_reserved_fen,
                    "active_policies": int(active.get(p.id, 0)),
                    "beneficiaries": p.beneficiaries_reserved,
                    "quota": p.quota,
                }
            )
        # A policy two of the organisation's programmes paid for is one active policy.
        active_total = (
            session.scalar(
                select(func.count(func.distinct(Policy.id))).where(
                    Policy.order_item_id.in_(_funded_items(ids)),
                    Policy.status == PolicyStatus.ACTIVE,
                )
            )
            or 0
        )
        budget = sum(r["budget_total_fen"] for r in rows)
        spent_total = sum(r["spent_fen"] for r in rows)
        organisation = {"id": org.id, "name": org.name, "uscc": org.uscc, "kind": org.kind}
    return {
        "organisation": organisation,
        "programmes": rows,
        "totals": {
            "budget_total_fen": budget,
            "spent_fen": spent_total,
            "spent_bp": spent_basis_points(spent_total, budget),
            "reserved_unpaid_fen": sum(r["reserved_unpaid_fen"] for r in rows),
            "unspent_fen": sum(r["unspent_fen"] for r in rows),
            "active_policies": int(active_total),
        },
    }


# --- beneficiaries ---------------------------------------------------------------------------
def _funded_policies(programme_ids: Select, plan_year: int | None, status: str | None) -> Select:
    from app.members.models import Person
    from app.policies.models import Policy

    query = (
        select(Policy, Person)
        .join(Person, Person.id == Policy.person_id)
        .where(Policy.order_item_id.in_(_funded_items(programme_ids)))
    )
    if plan_year is not None:
        query = query.where(Policy.plan_year == plan_year)
    if status is not None:
        query = query.where(Policy.status == status)
    return query.order_by(Policy.id)


def _beneficiary_rows(session, found, programme_ids: Select) -> list[dict]:
    """(policy, person) pairs as report rows: name and ID number masked, what each of the
    organisation's programmes paid for the policy."""
    from app.enrollment.models import LedgerEntry
    from app.identity.idnumber import mask, mask_name
    from app.identity.services import decrypt_id_number
    from app.policies.certificate import STATUS_LABELS

    item_ids = [policy.order_item_id for policy, _ in found]
    paid: dict[int, list[dict]] = {}
    for item_id, pid, name, amount in session.execute(
        select(
            LedgerEntry.order_item_id,
            Programme.id,
            Programme.name,
            func.sum(LedgerEntry.amount_fen),
        )
        .join(Programme, Programme.id == LedgerEntry.programme_id)
        .where(
            LedgerEntry.order_item_id.in_(item_ids),
            LedgerEntry.kind.in_(SPENT_KINDS),
            Programme.id.in_(programme_ids),
        )
        .group_by(LedgerEntry.order_item_id, Programme.id, Programme.name)
        .order_by(Programme.id)
    ):
        assert item_id is not None  # selected by order_item_id IN (...)
        paid.setdefault(item_id, []).append(
            {"programme_id": pid, "programme_name": name, "subsidy_fen": int(amount)}
        )
    return [
        {
            "insured_name_masked": mask_name(person.name),
            "id_number_masked": mask(decrypt_id_number(person)),
            "plan_year": policy.plan_year,
            "policy_status": policy.status,
            "policy_status_label": STATUS_LABELS[policy.status],
            "coverage_start": policy.coverage_start,
            "coverage_end": policy.coverage_end,
            "programmes": paid.get(policy.order_item_id, []),
            "subsidy_fen": sum(p["subsidy_fen"] for p in paid.get(policy.order_item_id, [])),
        }
        for policy, person in found
    ]


def beneficiaries(
    actor: Principal,
    *,
    page: int,
    page_size: int,
    programme_id: int | None = None,
    plan_year: int | None = None,
    status: str | None = None,
) -> Page[dict]:
    with transaction() as session:
        org = _own_organisation(session, actor)
        _check_own_programme(session, org.id, programme_id)
        programme_ids = _own_programme_ids(org.id, programme_id)
        query = _funded_policies(programme_ids, plan_year, status)
        found_page = paginate(session, query, page, page_size)
        rows = _beneficiary_rows(session, found_page.items, programme_ids)
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="sponsor.beneficiaries_read",
            object_type="organisation",
            object_id=org.id,
            detail={"page": page, "rows": len(rows), "programme_id": programme_id},
        )
    return replace(found_page, items=rows)


COVERED_BATCH = 1000  # policies read (and ID numbers decrypted) at a time for the full list


def covered(
    actor: Principal, *, programme_id: int | None = None, plan_year: int | None = None
) -> dict:
    """Every policy the organisation's programmes paid for ("who got covered", 已参保名单),
    the same rows as `beneficiaries` without pages: for the XLSX download. One audit row."""
    with transaction() as session:
        org = _own_organisation(session, actor)
        _check_own_programme(session, org.id, programme_id)
        programme_ids = _own_programme_ids(org.id, programme_id)
        query = _funded_policies(programme_ids, plan_year, None)
        rows: list[dict] = []
        offset = 0
        while True:
            found = session.execute(query.offset(offset).limit(COVERED_BATCH)).all()
            rows.extend(_beneficiary_rows(session, found, programme_ids))
            if len(found) < COVERED_BATCH:
                break
            offset += COVERED_BATCH
        audit(
            session,
            actor_type="staff",
            actor_id=actor.id,
            action="sponsor.covered_exported",
            object_type="organisation",
            object_id=org.id,
            detail={"rows": len(rows), "programme_id": programme_id, "plan_year": plan_year},
        )
        organisation = {"id": org.id, "name": org.name, "uscc": org.uscc, "kind": org.kind}
    return {"organisation": organisation, "rows": rows}


# --- donations -------------------------------------------------------------------------------


def _year_bounds_utc(year: int) -> tuple[datetime, datetime]:
    """A calendar year in Asia/Shanghai, as a UTC interval [start, end)."""
    start = datetime(year, 1, 1, tzinfo=SHANGHAI)
    end = datetime(year + 1, 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def donations(actor: Principal, *, year: int | None = None) -> dict:
    with read_scope() as session:
        org = _own_organisation(session, actor)
        e = ProgrammeLedgerEntry
        query = (
            select(e, Programme)
            .join(Programme, Programme.id == e.programme_id)
            .where(Programme.organisation_id == org.id, e.kind.in_(DONATION_KINDS))
        )
        if year is not None:
            start, end = _year_bounds_utc(year)
            query = query.where(e.created_at >= start, e.created_at < end)
        items = []
        for entry, programme in session.execute(query.order_by(e.created_at, e.id)):
            items.append(
                {
                    "entry_id": entry.id,
                    "kind": entry.kind,
                    "kind_label": DONATION_LABELS[entry.kind],
                    "date": entry.created_at.astimezone(SHANGHAI).date(),
                    "amount_fen": entry.amount_fen,
                    "amount_yuan": yuan(entry.amount_fen),
                    "organisation_name": org.name,
                    "organisation_uscc": org.uscc,
                    "programme_id": programme.id,
                    "programme_name": programme.name,
                }
            )
    return {
        "organisation_name": org.name,
        "organisation_uscc": org.uscc,
        "year": year,
        "items": items,
        "total_fen": sum(i["amount_fen"] for i in items),
    }


CSV_HEADER = (
    "流水号",
    "日期",
    "类型",
    "金额（元）",
    "金额（分）",
    "捐赠单位",
    "统一社会信用代码",
    "资助项目编号",
    "资助项目",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is quoted with a leading
    apostrophe (OWASP CSV injection); numbers are written as numbers, never through here."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def donations_csv(actor: Principal, *, year: int | None = None) -> bytes:
    report = donations(actor, year=year)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for i in report["items"]:
        writer.writerow(
            [
                i["entry_id"],
                i["date"].isoformat(),
                i["kind_label"],
                i["amount_yuan"],
                i["amount_fen"],
                _text_cell(i["organisation_name"]),
                i["organisation_uscc"],
                i["programme_id"],
                _text_cell(i["programme_name"]),
            ]
        )
    # UTF-8 with a byte-order mark: Excel then reads the file as UTF-8, not the locale's GBK.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- outcomes --------------------------------------------------------------------------------


def outcomes(actor: Principal) -> dict:
    from app.policies.models import Policy

    min_cell = current_app.config["SPONSOR_REPORT_MIN_CELL"]
    with read_scope() as session:
        org = _own_organisation(session, actor)
        funded = Policy.order_item_id.in_(_funded_items(_own_programme_ids(org.id)))
        years = list(
            session.scalars(
                select(Policy.plan_year).where(funded).distinct().order_by(Policy.plan_year)
            )
        )
        rows = []
        for year in years:
            people = (
                session.scalar(
                    select(func.count(func.distinct(Policy.person_id))).where(
                        funded, Policy.plan_year == year
                    )
                )
                or 0
            )
            paid = _claims_paid(session, select(Policy.id).where(funded, Policy.plan_year == year))
            suppressed = paid.count < min_cell
            rows.append(
                {
                    "plan_year": year,
                    "beneficiaries": int(people),
                    "suppressed": suppressed,
                    "claims_paid_count": None if suppressed else paid.count,
                    "claims_paid_fen": None if suppressed else paid.paid_fen,
                }
            )
    return {"min_cell": min_cell, "years": rows}
