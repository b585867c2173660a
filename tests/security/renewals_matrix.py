"""Role-matrix rows and requests for renewal (merged into test_role_matrix's MATRIX and
REQUESTS): members keep their own consents and read their outcomes; renewal runs are the
operators' (reviewers and organisation admins are refused by role)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from app.config import Config
from app.database import transaction
from app.members.models import Member
from app.products.models import Product
from app.renewals.models import RenewalConsent, RenewalRun
from tests.enrollment.conftest import key

CONSENT = {"version": Config.RENEWAL_CONSENT_VERSION, "accepted": True}
R = "/staff/renewal-runs"

#                                                    anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    ("/renewals", "GET"): (401, 200, 401, 401, 401),
    ("/renewals/consents", "POST"): (401, 201, 401, 401, 401),
    ("/renewals/consents/<int:consent_id>/revoke", "POST"): (401, 200, 401, 401, 401),
    (R, "POST"): (401, 401, 403, 201, 403),
    (R, "GET"): (401, 401, 403, 200, 403),
    (f"{R}/<int:run_id>", "GET"): (401, 401, 403, 200, 403),
    (f"{R}/<int:run_id>/resume", "POST"): (401, 401, 403, 200, 403),
}


def _products(w) -> tuple[int, int]:
    with w.app.app_context():
        from app.database import get_session

        s = get_session()
        ids = dict(s.query(Product.code, Product.id).all())
    return ids["ganzhou-demo-2027"], ids["ganzhou-demo-2026"]


def _consent(w) -> int:
    """An active consent of the matrix member for themselves, made directly."""

    def make() -> int:
        with w.app.app_context(), transaction() as s:
            member = s.get(Member, w.member_id)
            consent = RenewalConsent(
                member_id=w.member_id,
                person_id=member.person_id,
                relation="self",
                text_version=CONSENT["version"],
                source="member",
            )
            s.add(consent)
            s.flush()
            return consent.id

    return w._once("renewal_consent", make)


def _stopped_run(w) -> int:
    """A run that stopped (failed) with nothing pending: resuming it completes it."""

    def make() -> int:
        target, source = _products(w)
        with w.app.app_context(), transaction() as s:
            run = RenewalRun(
                product_id=target, from_product_id=source, plan_year=2027, status="failed"
            )
            s.add(run)
            s.flush()
            return run.id

    return w._once("renewal_run", make)


def _run_body(w) -> dict:
    """The matrix runs on 2026-11-23, before the 2027 window opens on 2026-12-01: the set-up
    opens it early (directly), so the operator's well-formed request is a valid one."""
    target, _ = _products(w)
    with w.app.app_context(), transaction() as s:
        s.execute(
            update(Product).where(Product.id == target).values(window_opens=date(2026, 11, 1))
        )
    return {"headers": key(), "json": {"product_code": "ganzhou-demo-2027"}}


REQUESTS = {
    ("/renewals", "GET"): lambda w: {},
    ("/renewals/consents", "POST"): lambda w: {
        "json": {"policy_id": w.policy(), "auto_debit": True, "consent": CONSENT}
    },
    ("/renewals/consents/<int:consent_id>/revoke", "POST"): lambda w: {"consent_id": _consent(w)},
    (R, "POST"): _run_body,
    (R, "GET"): lambda w: {},
    (f"{R}/<int:run_id>", "GET"): lambda w: {"run_id": _stopped_run(w)},
    (f"{R}/<int:run_id>/resume", "POST"): lambda w: {"run_id": _stopped_run(w)},
}
