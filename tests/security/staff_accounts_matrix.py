"""Role-matrix rows and requests for staff accounts' sign-in locks (merged into
test_role_matrix's MATRIX and REQUESTS). Seeing and lifting a lock is the operators' work, as
the rest of staff account management is: reviewers and organisation admins are refused by role,
members and anonymous callers never get in."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import StaffAccount
from app.database import get_session

A = "/staff/accounts/<int:account_id>/login-lock"

#                                                    anon member reviewer operator charity
ROWS: dict[tuple[str, str], tuple[int, int, int, int, int]] = {
    (A, "GET"): (401, 401, 403, 200, 403),
    (f"{A}/release", "POST"): (401, 401, 403, 200, 403),
}


def _reviewer_account(w) -> int:
    def find() -> int:
        with w.app.app_context():
            account_id = get_session().scalar(
                select(StaffAccount.id).where(StaffAccount.username == "demo-reviewer")
            )
            get_session().rollback()
        assert account_id is not None
        return account_id

    return w._once("reviewer_account", find)


REQUESTS = {
    (A, "GET"): lambda w: {"account_id": _reviewer_account(w)},
    (f"{A}/release", "POST"): lambda w: {"account_id": _reviewer_account(w)},
}
