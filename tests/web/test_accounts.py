"""The operator's account pages: list, create, disable/enable, reset password, assign role and
organisation; each through app.auth.accounts, audited, and refused to other roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import StaffAccount
from app.database import get_session
from tests import factories
from tests.web.support import session_cookie, sign_in, signed_in

NEW_PASSWORD = "a-new-password-2026"


def _account(app, username: str) -> StaffAccount:
    with app.app_context():
        account = get_session().scalar(
            select(StaffAccount).where(StaffAccount.username == username)
        )
        get_session().expunge_all()
        return account


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        get_session().expunge_all()
        return rows


@pytest.fixture
def operator(seeded):
    client = seeded.test_client()
    token = signed_in(client, "demo-operator")
    return client, token


def test_operator_lists_accounts(seeded, operator):
    client, _ = operator
    page = client.get("/console/accounts").get_data(as_text=True)
    assert "demo-reviewer" in page and "demo-operator" in page and "理赔审核员" in page


@pytest.mark.parametrize("username", ["demo-reviewer"])
def test_other_roles_get_a_403_page(seeded, username):
    client = seeded.test_client()
    token = signed_in(client, username)
    resp = client.get("/console/accounts")
    assert resp.status_code == 403 and "无权" in resp.get_data(as_text=True)
    created = client.post(
        "/console/accounts",
        data={
            "csrf_token": token,
            "username": "x-sneaky",
            "display_name": "x",
            "role": "operator",
            "password": NEW_PASSWORD,
        },
    )
    assert created.status_code == 403
    assert _account(seeded, "x-sneaky") is None


def test_operator_creates_an_organisation_admin(seeded, operator):
    client, token = operator
    charity = factories.organisation(seeded, "charity", name="测试慈善会")
    resp = client.post(
        "/console/accounts",
        data={
            "csrf_token": token,
            "username": "charity-officer",
            "display_name": "慈善专员",
            "role": "charity_admin",
            "organisation_id": str(charity),
            "password": NEW_PASSWORD,
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/accounts?done=created"
    made = _account(seeded, "charity-officer")
    assert made.role == "charity_admin" and made.organisation_id == charity
    operator_id = _account(seeded, "demo-operator").id
    (event,) = [e for e in _audit(seeded, "staff.created") if e.object_id == made.id]
    assert event.actor_type == "staff" and event.actor_id == operator_id
    # The new account signs in with the password the operator set.
    assert sign_in(seeded.test_client(), "charity-officer", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "change, message",
    [
        ({"password": "short"}, "密码至少12位"),
        ({"role": "charity_admin"}, "机构管理员必须指定所属机构"),
        ({"role": "wizard"}, "角色必须是以下之一"),
        ({"username": "demo-reviewer"}, "用户名已存在"),
        ({"display_name": ""}, "用户名和显示名称必填"),
        (
            {"role": "employer_admin", "organisation_id": "CHARITY"},
            "用人单位管理员只能属于用人单位",
        ),
        # '²'.isdigit() is true but int() refuses it: was a 500
        ({"role": "charity_admin", "organisation_id": "²"}, "所属机构不存在"),
        ({"role": "charity_admin", "organisation_id": "9" * 5000}, "所属机构不存在"),  # a 500
    ],
)
def test_create_refusals_keep_the_form_and_write_nothing(seeded, operator, change, message):
    client, token = operator
    charity = factories.organisation(seeded, "charity")
    data = {
        "csrf_token": token,
        "username": "new-person",
        "display_name": "新同事",
        "role": "reviewer",
        "password": NEW_PASSWORD,
    }
    data.update(change)
    if data.get("organisation_id") == "CHARITY":
        data["organisation_id"] = str(charity)
    resp = client.post("/console/accounts", data=data)
    assert resp.status_code in (409, 422)
    text = resp.get_data(as_text=True)
    assert message in text
    if data["username"] == "new-person":
        assert _account(seeded, "new-person") is None
        assert 'value="new-person"' in text  # the form keeps what was typed


def test_disable_signs_the_account_out_and_enable_lets_it_back(seeded, operator):
    client, token = operator
    reviewer = seeded.test_client()
    signed_in(reviewer, "demo-reviewer")
    target = _account(seeded, "demo-reviewer")
    resp = client.post(f"/console/accounts/{target.id}/disable", data={"csrf_token": token})
    assert resp.status_code == 302
    assert not _account(seeded, "demo-reviewer").active
    assert reviewer.get("/console/").status_code == 302  # the live session ended
    assert session_cookie(reviewer) is None
    assert sign_in(seeded.test_client(), "demo-reviewer").status_code == 401
    # Disabling twice changes nothing and audits once.
    client.post(f"/console/accounts/{target.id}/disable", data={"csrf_token": token})
    assert len(_audit(seeded, "staff.disabled")) == 1
    client.post(f"/console/accounts/{target.id}/enable", data={"csrf_token": token})
    assert sign_in(seeded.test_client(), "demo-reviewer").status_code == 302
    assert len(_audit(seeded, "staff.enabled")) == 1


def test_operator_cannot_disable_or_re_role_themself(seeded, operator):
    client, token = operator
    me = _account(seeded, "demo-operator")
    resp = client.post(f"/console/accounts/{me.id}/disable", data={"csrf_token": token})
    assert resp.status_code == 409 and "不能停用自己的账号" in resp.get_data(as_text=True)
    resp = client.post(
        f"/console/accounts/{me.id}/role", data={"csrf_token": token, "role": "reviewer"}
    )
    assert resp.status_code == 409
    assert _account(seeded, "demo-operator").active
    assert _account(seeded, "demo-operator").role == "operator"


def test_reset_password_ends_sessions_and_the_old_password(seeded, operator):
    client, token = operator
    reviewer = seeded.test_client()
    signed_in(reviewer, "demo-reviewer")
    target = _account(seeded, "demo-reviewer")
    api_token = factories.staff_token(seeded, "demo-reviewer")
    api = {"Authorization": f"Bearer {api_token}"}
    assert seeded.test_client().get("/staff/claims", headers=api).status_code == 200
    weak = client.post(
        f"/console/accounts/{target.id}/password", data={"csrf_token": token, "password": "x"}
    )
    assert weak.status_code == 422 and "密码至少12位" in weak.get_data(as_text=True)
    assert reviewer.get("/console/").status_code == 200  # nothing happened
    resp = client.post(
        f"/console/accounts/{target.id}/password",
        data={"csrf_token": token, "password": NEW_PASSWORD},
    )
    assert resp.status_code == 302
    assert reviewer.get("/console/").status_code == 302
    # the API token issued with the old password stops too, not when its 15 minutes are up
    stale = seeded.test_client().get("/staff/claims", headers=api)
    assert stale.status_code == 401 and stale.get_json()["code"] == "token_stale_credentials"
    assert sign_in(seeded.test_client(), "demo-reviewer").status_code == 401
    assert sign_in(seeded.test_client(), "demo-reviewer", NEW_PASSWORD).status_code == 302
    assert len(_audit(seeded, "staff.password_reset")) == 1


def test_assign_role_and_organisation(seeded, operator):
    client, token = operator
    employer = factories.organisation(seeded, "employer", name="某某公司")
    target = _account(seeded, "demo-reviewer")
    api_token = factories.staff_token(seeded, "demo-reviewer")
    bad = client.post(
        f"/console/accounts/{target.id}/role",
        data={"csrf_token": token, "role": "employer_admin"},
    )
    assert bad.status_code == 422
    resp = client.post(
        f"/console/accounts/{target.id}/role",
        data={"csrf_token": token, "role": "employer_admin", "organisation_id": str(employer)},
    )
    assert resp.status_code == 302
    changed = _account(seeded, "demo-reviewer")
    assert (changed.role, changed.organisation_id) == ("employer_admin", employer)
    (event,) = _audit(seeded, "staff.role_assigned")
    assert event.detail["before"] == {"role": "reviewer", "organisation_id": None}
    # The API token minted for the old role no longer works (the account is read each time).
    api = seeded.test_client().get(
        f"/staff/members/{target.id}", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert api.status_code == 401 and api.get_json()["code"] == "token_stale_role"


def test_an_unknown_account_is_a_404_page(seeded, operator):
    client, token = operator
    assert client.get("/console/accounts/99999").status_code == 404
    resp = client.post("/console/accounts/99999/disable", data={"csrf_token": token})
    assert resp.status_code == 404
