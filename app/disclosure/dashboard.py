"""The operator dashboard (可视化、实时动态的大数据管理系统): one product's live figures and the
early warnings computed from them. Served as JSON to the operator's page (/console/dashboard,
which polls it) and to operator tokens (GET /staff/dashboard).

Where the figures come from (exact counts and fen, no sampling):
- the disclosure counters (aggregates.counters_for), as the public statistics and the settlement
  read them: people enrolled by insurance type and by main funding source, premiums collected and
  refunded per source, claims received, claims paid and the amount paid; the loss ratio, floor and
  corridor are the settlement's own row (services.settlement_row), so they equal
  GET /staff/disclosure/settlement;
- disclosure_enrollments (one row per policy counted, with its payment date; voided policies
  leave it): people enrolled today and per day, and per area (the insured person's
  medical-insurance area code, named by the product's [disclosure.areas]);
- the claims table: the pipeline by current status, and claims approved and not yet paid;
  payouts: transfers succeeded, failed and pending;
- programmes: budgets committed against their totals; payments, refunds, payouts left pending:
  the reconciliation backlog.

Enrolled people are "enrolled and still covered" throughout (a voided policy leaves every
figure), as in the public statistics. Participation is enrolled people / the region's
basic-insured population, against the product's participation target
([disclosure] participation_target_bp); the target's people are population x target, half up.

No personal data: counts, amounts, area codes, programme and organisation names only.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.claims.models import Claim, Payout
from app.claims.statuses import ClaimStatus, PayoutStatus
from app.common.clock import today_shanghai
from app.common.money import BP, round_half_up_div
from app.database import read_scope, utcnow
from app.disclosure import aggregates as agg
from app.disclosure import early_warnings as ew
from app.disclosure.metrics import FUNDING_SOURCES
from app.disclosure.models import DisclosureEnrollment
from app.disclosure.services import settlement_row, year_totals
from app.disclosure.statistics import rate_display
from app.enrollment.models import Order, Payment, Refund
from app.enrollment.statuses import PaymentStatus, RefundStatus
from app.error_catalogue import E
from app.errors import DomainError
from app.identity.models import Person
from app.policies.models import Policy
from app.products.models import Product, ProductStatus
from app.sponsors.models import Organisation, Programme
from app.sponsors.statuses import ProgrammeStatus

# The pipeline's stages by current claim status (drafts are not claims yet).
IN_REVIEW = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.PENDING_REVIEW,
    ClaimStatus.MORE_INFO_REQUESTED,
    ClaimStatus.RECHECK,
)
PIPELINE = {
    "in_review": IN_REVIEW,
    "approved": (ClaimStatus.APPROVED,),  # awaiting the transfer
    "paid": (ClaimStatus.PAID,),
    "rejected": (ClaimStatus.REJECTED,),
    "closed": (ClaimStatus.CLOSED,),
}
UNKNOWN_AREA = "unknown"


def thresholds() -> ew.Thresholds:
    cfg = current_app.config
    return ew.Thresholds(
        projection_min_days=cfg["DASHBOARD_PROJECTION_MIN_DAYS"],
        budget_warn_bp=cfg["DASHBOARD_BUDGET_WARN_BP"],
        reconciliation_age_seconds=cfg["DASHBOARD_RECONCILIATION_AGE_SECONDS"],
        reconciliation_critical_seconds=cfg["DASHBOARD_RECONCILIATION_CRITICAL_SECONDS"],
        payout_failure_min=cfg["DASHBOARD_PAYOUT_FAILURE_MIN"],
        payout_failure_warn_bp=cfg["DASHBOARD_PAYOUT_FAILURE_WARN_BP"],
        payout_failure_critical_bp=cfg["DASHBOARD_PAYOUT_FAILURE_CRITICAL_BP"],
        fraud_min_flagged=cfg["DASHBOARD_FRAUD_MIN_FLAGGED"],
        fraud_rate_factor_pct=cfg["DASHBOARD_FRAUD_RATE_FACTOR_PCT"],
    )


def _product(session: Session, code: str | None, today: date) -> Product:
    """The product asked for (retired ones too: an operator looks back), else the one on sale
    today, else the newest published."""
    from app.products.services import current_product, get_product

    if code is not None:
        return get_product(code, include_retired=True)
    product = current_product(today) or session.scalar(
        select(Product)
        .where(Product.status == ProductStatus.PUBLISHED)
        .order_by(Product.plan_year.desc(), Product.id.desc())
        .limit(1)
    )
    if product is None:
        raise E.product_not_found()
    return product


def dashboard(product_code: str | None = None) -> dict:
    """Everything the dashboard shows for one product (see the module doc)."""
    from app.products.services import definition_of

    today, now = today_shanghai(), utcnow()
    cfg, t = current_app.config, thresholds()
    with read_scope() as session:
        product = _product(session, product_code, today)
        defn = definition_of(product)
        cells = agg.counters_for(session, [(product.id, product.plan_year)])[
            (product.id, product.plan_year)
        ]
        settlement = settlement_row(product, cells)
        enrollment = _enrollment(session, product, cells, today, cfg["DASHBOARD_DAYS"])
        enrollment["by_area"] = _by_area_of_version(session, product, defn.disclosure.areas, cells)
        claims = _claims(session, product, cells)
        payouts = _payouts(session, product)
        coverage_days = (product.coverage_ends - product.coverage_starts).days + 1
        elapsed = max(0, min((today - product.coverage_starts).days + 1, coverage_days))
        corridor = defn.disclosure.corridor
        loss = ew.LossRatioFacts(
            net_premium_fen=settlement["net_premium_fen"],
            claims_paid_fen=settlement["claims_paid_fen"],
            claims_approved_unpaid_fen=claims["approved_unpaid_fen"],
            coverage_days=coverage_days,
            elapsed_days=elapsed,
            floor_bp=settlement["loss_ratio_floor_bp"],
            corridor_low_bp=corridor.renegotiate_below_bp if corridor else None,
            corridor_high_bp=corridor.renegotiate_above_bp if corridor else None,
        )
        budgets = _budgets(session, product)
        backlogs = _backlogs(session, product, now, t.reconciliation_age_seconds)
        payout_window = _payout_window(session, product, now, cfg["DASHBOARD_PAYOUT_WINDOW_DAYS"])
        fraud = _fraud_rates(
            session,
            product,
            now,
            cfg["DASHBOARD_FRAUD_WINDOW_DAYS"],
            cfg["DASHBOARD_FRAUD_BASELINE_DAYS"],
        )
        population = defn.disclosure.region_basic_insured_population
        target_bp = defn.disclosure.participation_target_bp
    warnings = [
        *ew.loss_ratio_warnings(loss, t),
        *ew.budget_warnings(budgets, t),
        *ew.reconciliation_warnings(backlogs, t),
        *ew.payout_warnings(payout_window, t),
        *ew.fraud_rate_warnings(fraud, t),
    ]
    projected = ew.projected_loss_ratio_bp(loss, t)
    return {
        "generated_at": now.isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "refresh_seconds": cfg["DASHBOARD_REFRESH_SECONDS"],
        "product": {
            "code": product.code,
            "name": product.name,
            "plan_year": product.plan_year,
            "coverage_starts": product.coverage_starts.isoformat(),
            "coverage_ends": product.coverage_ends.isoformat(),
        },
        "enrollment": enrollment,
        "participation": _participation(enrollment["total"], population, target_bp),
        "premiums": {
            "collected_fen": settlement["premiums_collected_fen"],
            "refunded_fen": settlement["premiums_refunded_fen"],
            "net_fen": settlement["net_premium_fen"],
            "collected_by_source_fen": settlement["premiums_collected_by_source_fen"],
        },
        "claims": claims,
        "payouts": payouts,
        "loss_ratio": {
            "claims_paid_fen": settlement["claims_paid_fen"],
            "net_premium_fen": settlement["net_premium_fen"],
            "loss_ratio_bp": settlement["loss_ratio_bp"],
            "loss_ratio_display": settlement["loss_ratio_display"],
            "floor_bp": settlement["loss_ratio_floor_bp"],
            "meets_floor": settlement["meets_floor"],
            "corridor_low_bp": loss.corridor_low_bp,
            "corridor_high_bp": loss.corridor_high_bp,
            "corridor_band": (settlement["corridor"] or {}).get("band"),
            "projected_bp": projected,
            "projected_display": None if projected is None else rate_display(projected),
            "coverage_days": coverage_days,
            "elapsed_days": elapsed,
            "projection_method": (
                "（已赔付 + 已核准待支付）÷ 已过保障天数 × 保障期总天数 ÷ 净保费；"
                f"保障满 {t.projection_min_days} 天后开始预测"
            ),
        },
        "value_estimates": _estimates(cells),
        "warnings": [
            {"code": w.code, "level": str(w.level), "message": w.message, "figures": w.figures}
            for w in warnings
        ],
    }


def _estimates(cells: dict) -> dict:
    """The value estimates shown for the product's year and how many of those members enrolled
    (the disclosure counters kept by app/estimates and the enrollment writer)."""
    shown = sum(year_totals(cells, agg.ESTIMATES_SHOWN).values())
    converted = sum(year_totals(cells, agg.ESTIMATES_CONVERTED).values())
    rate = round_half_up_div(converted * 10000, shown) if shown else None
    return {"shown": shown, "converted": converted, "conversion_bp": rate}


# --- enrollment ---------------------------------------------------------------------------------


def _counted(product: Product):
    return (
        DisclosureEnrollment.product_id == product.id,
        DisclosureEnrollment.plan_year == product.plan_year,
        DisclosureEnrollment.voided_at.is_(None),
    )


def _enrollment(session: Session, product: Product, cells: dict, today: date, days: int) -> dict:
    by_type = year_totals(cells, agg.ENROLLED_BY_INSURANCE_TYPE)
    by_source = year_totals(cells, agg.ENROLLED_BY_FUNDING_SOURCE)
    first = today - timedelta(days=days - 1)
    per_day = dict(
        session.execute(
            select(DisclosureEnrollment.issued_on, func.count())
            .where(*_counted(product), DisclosureEnrollment.issued_on >= first)
            .group_by(DisclosureEnrollment.issued_on)
        ).all()
    )
    by_day = [
        {"date": day.isoformat(), "people": per_day.get(day, 0)}
        for day in (first + timedelta(days=i) for i in range(days))
    ]
    return {
        "total": sum(by_type.values()),
        "today": per_day.get(today, 0),
        "by_day": by_day,
        "by_insurance_type": {k: by_type.get(k, 0) for k in agg.INSURANCE_TYPES},
        "by_funding_source": {k: by_source.get(k, 0) for k in FUNDING_SOURCES},
    }


class _AreaCache:
    """The by-area rows built lately, by counters' version (one per app, so per worker): the
    dashboard polls every DASHBOARD_REFRESH_SECONDS and the areas are the one figure that joins
    the enrollments to the people. Counting, voiding or refunding a policy moves the counters,
    so a new version; a person whose area changes on re-verification moves it only with the
    next counted event."""

    KEPT = 16

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: OrderedDict[str, list[dict]] = OrderedDict()


def _by_area_of_version(
    session: Session, product: Product, names: dict[str, str], cells: dict
) -> list[dict]:
    """_by_area, computed again only when the product's counters (or its areas) have moved."""
    material = repr((product.id, product.plan_year, sorted(names.items()), sorted(cells.items())))
    version = hashlib.sha256(material.encode()).hexdigest()
    cache: _AreaCache = current_app.extensions.setdefault("dashboard_by_area", _AreaCache())
    with cache.lock:
        rows = cache.rows.get(version)
    if rows is None:
        rows = _by_area(session, product, names)
        with cache.lock:
            cache.rows[version] = rows
            while len(cache.rows) > _AreaCache.KEPT:
                cache.rows.popitem(last=False)
    return [dict(row) for row in rows]


def _by_area(session: Session, product: Product, names: dict[str, str]) -> list[dict]:
    """People per area code: every area the product names (zero included), then any other code
    found, then people without one."""
    counts = dict(
        session.execute(
            select(Person.region_code, func.count())
            .select_from(DisclosureEnrollment)
            .join(Policy, Policy.id == DisclosureEnrollment.policy_id)
            .join(Person, Person.id == Policy.person_id)
            .where(*_counted(product))
            .group_by(Person.region_code)
        ).all()
    )
    rows = [
        {"area_code": code, "name": name, "people": counts.pop(code, 0)}
        for code, name in names.items()
    ]
    unknown = counts.pop(None, 0)
    rows += [{"area_code": code, "name": code, "people": n} for code, n in sorted(counts.items())]
    if unknown:
        rows.append({"area_code": UNKNOWN_AREA, "name": "未知", "people": unknown})
    return rows


def _participation(enrolled: int, population: int | None, target_bp: int | None) -> dict:
    target_people = (
        round_half_up_div(population * target_bp, BP) if population and target_bp else None
    )
    rate = round_half_up_div(enrolled * BP, population) if population else None
    return {
        "enrolled": enrolled,
        "population": population,
        "rate_bp": rate,
        "rate_display": None if rate is None else rate_display(rate),
        "target_bp": target_bp,
        "target_people": target_people,
        "progress_bp": round_half_up_div(enrolled * BP, target_people) if target_people else None,
        "reached": None if target_people is None else enrolled >= target_people,
    }


# --- claims and payouts ---------------------------------------------------------------------------


def _of_product(product: Product):
    return Claim.product_id == product.id, Claim.plan_year == product.plan_year


def _claims(session: Session, product: Product, cells: dict) -> dict:
    by_status: dict[str, int] = {}
    reversed_at_counter = 0
    cancelled = Claim.reversed_at.is_not(None)
    for status, was_cancelled, n in session.execute(
        select(Claim.status, cancelled, func.count())
        .where(*_of_product(product))
        .group_by(Claim.status, cancelled)
    ).all():
        # a counter settlement the hospital cancelled is `rejected` with reversed_at: not a
        # denial, so it is counted on its own and not in the rejected stage
        if status == ClaimStatus.REJECTED and was_cancelled:
            reversed_at_counter += n
        else:
            by_status[status] = by_status.get(status, 0) + n
    owed = session.scalar(
        select(func.coalesce(func.sum(Claim.approved_fen), 0)).where(
            *_of_product(product), Claim.status == ClaimStatus.APPROVED
        )
    )
    return {
        "received": sum(year_totals(cells, agg.CLAIMS_RECEIVED).values()),
        **{
            stage: sum(by_status.get(s, 0) for s in statuses)
            for stage, statuses in PIPELINE.items()
        },
        "reversed": reversed_at_counter,
        "approved_unpaid_fen": int(owed or 0),
    }


def _payouts(session: Session, product: Product) -> dict:
    rows = session.execute(
        select(Payout.status, func.count(), func.coalesce(func.sum(Payout.amount_fen), 0))
        .join(Claim, Claim.id == Payout.claim_id)
        .where(*_of_product(product))
        .group_by(Payout.status)
    ).all()
    found = {status: (int(n), int(fen)) for status, n, fen in rows}
    result = {}
    for name, status in (
        ("paid", PayoutStatus.SUCCEEDED),
        ("failed", PayoutStatus.FAILED),
        ("pending", PayoutStatus.PENDING),
    ):
        count, fen = found.get(status, (0, 0))
        result[name], result[f"{name}_fen"] = count, fen
    return result


def _payout_window(session: Session, product: Product, now: datetime, days: int) -> ew.PayoutFacts:
    rows = session.execute(
        select(Payout.status, func.count(), func.coalesce(func.sum(Payout.amount_fen), 0))
        .join(Claim, Claim.id == Payout.claim_id)
        .where(
            *_of_product(product),
            Payout.status.in_((PayoutStatus.SUCCEEDED, PayoutStatus.FAILED)),
            Payout.updated_at >= now - timedelta(days=days),
        )
        .group_by(Payout.status)
    ).all()
    found = {status: (int(n), int(fen)) for status, n, fen in rows}
    failed, failed_fen = found.get(PayoutStatus.FAILED, (0, 0))
    return ew.PayoutFacts(
        window_days=days,
        succeeded=found.get(PayoutStatus.SUCCEEDED, (0, 0))[0],
        failed=failed,
        failed_fen=failed_fen,
    )


def _fraud_rates(
    session: Session, product: Product, now: datetime, window_days: int, baseline_days: int
) -> ew.FraudRateFacts:
    """Claims submitted in the recent window and in the baseline window before it, and how many
    of each carry a fraud flag (flags are JSON, so they are read and judged here)."""
    recent_from = now - timedelta(days=window_days)
    baseline_from = recent_from - timedelta(days=baseline_days)
    rows = session.execute(
        select(Claim.submitted_at, Claim.flags).where(
            *_of_product(product), Claim.submitted_at >= baseline_from, Claim.submitted_at <= now
        )
    ).all()
    recent = [flags for at, flags in rows if at >= recent_from]
    baseline = [flags for at, flags in rows if at < recent_from]
    return ew.FraudRateFacts(
        window_days=window_days,
        baseline_days=baseline_days,
        recent_claims=len(recent),
        recent_flagged=sum(ew.has_fraud_flag(f or []) for f in recent),
        baseline_claims=len(baseline),
        baseline_flagged=sum(ew.has_fraud_flag(f or []) for f in baseline),
    )


# --- sponsors and reconciliation ----------------------------------------------------------------


def _budgets(session: Session, product: Product) -> list[ew.BudgetFacts]:
    """Programmes that can still subsidise the product's plan year (active ones, of this product
    or of any product)."""
    rows = session.execute(
        select(Programme, Organisation.name)
        .join(Organisation, Organisation.id == Programme.organisation_id)
        .where(
            Programme.plan_year == product.plan_year,
            Programme.status == ProgrammeStatus.ACTIVE,
            (Programme.product_id.is_(None)) | (Programme.product_id == product.id),
        )
        .order_by(Programme.id)
    ).all()
    return [
        ew.BudgetFacts(
            programme_id=p.id,
            programme_name=p.name,
            organisation_name=org_name,
            budget_total_fen=p.budget_total_fen,
            budget_reserved_fen=p.budget_reserved_fen,
        )
        for p, org_name in rows
    ]


def _backlogs(
    session: Session, product: Product, now: datetime, age_seconds: int
) -> list[ew.BacklogFacts]:
    """Payments, refunds (of the product's orders) and payouts (of its claims) pending since
    before now - age_seconds: the ones reconciliation has still not settled."""
    cutoff = now - timedelta(seconds=age_seconds)
    queries = {
        "payment": select(
            func.count(),
            func.coalesce(func.sum(Payment.amount_fen), 0),
            func.min(Payment.created_at),
        )
        .join(Order, Order.id == Payment.order_id)
        .where(
            Order.product_id == product.id,
            Payment.status == PaymentStatus.PENDING,
            Payment.created_at <= cutoff,
        ),
        "refund": select(
            func.count(), func.coalesce(func.sum(Refund.amount_fen), 0), func.min(Refund.created_at)
        )
        .join(Order, Order.id == Refund.order_id)
        .where(
            Order.product_id == product.id,
            Refund.status == RefundStatus.PENDING,
            Refund.created_at <= cutoff,
        ),
        "payout": select(
            func.count(), func.coalesce(func.sum(Payout.amount_fen), 0), func.min(Payout.created_at)
        )
        .join(Claim, Claim.id == Payout.claim_id)
        .where(
            *_of_product(product),
            Payout.status == PayoutStatus.PENDING,
            Payout.created_at <= cutoff,
        ),
    }
    found = []
    for kind, query in queries.items():
        count, amount, oldest = session.execute(query).one()
        found.append(
            ew.BacklogFacts(
                kind=kind,
                count=int(count),
                amount_fen=int(amount),
                oldest_age_seconds=_age_seconds(now, oldest),
            )
        )
    return found


def _age_seconds(now: datetime, then: datetime | None) -> int:
    """Whole seconds since `then` (MIN() of a UTCDateTime column comes back aware, in UTC)."""
    return 0 if then is None else max(0, int((now - then).total_seconds()))


def check_product(product_code: str | None) -> None:
    """404 product_not_found (in words for the page) when `product_code` names no product: the
    page answers as its data would, instead of drawing a dashboard that can never load."""
    if product_code is None:
        return
    with read_scope() as session:
        try:
            _product(session, product_code, today_shanghai())
        except DomainError as exc:
            if exc.code != "product_not_found":
                raise
            raise E.product_not_found(
                f"没有代码为“{product_code}”的产品，请在运营看板的产品列表中选择"
            ) from None


def product_choices() -> list[dict]:
    """The products an operator may look at (retired ones too), newest plan year first."""
    with read_scope() as session:
        return [
            {"code": p.code, "name": p.name, "plan_year": p.plan_year}
            for p in session.scalars(
                select(Product).order_by(Product.plan_year.desc(), Product.code)
            )
        ]
