"""Organisation kind and admin role agree (issue 4 §1), and operators' read-only view of every
organisation's programmes."""

from __future__ import annotations

import itertools

import pytest

from app.auth.services import ADMIN_ROLE_KIND, role_fits_kind
from app.errors import ValidationFailed
from tests.conftest import bearer
from tests.security.support import assert_problem
from tests.sponsors.conftest import CHARITY_USCC, EMPLOYER_USCC, RELIEF_USCC, uscc

PAIRED_USCC = uscc("11360700MB2468024")  # a 机关 (a county bureau in a 结对帮扶 pairing)
USCC_OF = {
    "employer": EMPLOYER_USCC,
    "charity": CHARITY_USCC,
    "relief_fund": RELIEF_USCC,
    "paired_assistance": PAIRED_USCC,
}
ROLES = ("employer_admin", "charity_admin", "fund_admin", "paired_admin")
KINDS = ("employer", "charity", "relief_fund", "paired_assistance")

# role x kind: allowed only on the diagonal (each role has exactly one kind).
RULE_TABLE = [
    ("employer_admin", "employer", True),
    ("employer_admin", "charity", False),
    ("employer_admin", "relief_fund", False),
    ("employer_admin", "paired_assistance", False),
    ("charity_admin", "employer", False),
    ("charity_admin", "charity", True),
    ("charity_admin", "relief_fund", False),
    ("charity_admin", "paired_assistance", False),
    ("fund_admin", "employer", False),
    ("fund_admin", "charity", False),
    ("fund_admin", "relief_fund", True),
    ("fund_admin", "paired_assistance", False),
    ("paired_admin", "employer", False),
    ("paired_admin", "charity", False),
    ("paired_admin", "relief_fund", False),
    ("paired_admin", "paired_assistance", True),
    # insurer staff belong to no organisation kind
    ("operator", "charity", False),
    ("reviewer", "employer", False),
]


@pytest.mark.parametrize("role, kind, allowed", RULE_TABLE)
def test_role_fits_kind(role, kind, allowed):
    assert role_fits_kind(role, kind) is allowed


def test_the_table_covers_every_role_and_kind():
    assert {(r, k) for r, k, _ in RULE_TABLE} >= set(itertools.product(ROLES, KINDS))
    assert set(ADMIN_ROLE_KIND) == set(ROLES) and set(ADMIN_ROLE_KIND.values()) == set(KINDS)


@pytest.fixture
def organisations(sponsors) -> dict[str, int]:
    names = {
        "employer": "赣州某科技有限公司",
        "charity": "赣州市慈善总会",
        "relief_fund": "赣州市民政局",
        "paired_assistance": "赣州市某局（结对帮扶）",
    }
    return {kind: sponsors.organisation(USCC_OF[kind], names[kind], kind)["id"] for kind in KINDS}


@pytest.mark.parametrize("role, kind", list(itertools.product(ROLES, KINDS)))
def test_creating_an_admin_account_checks_the_organisation_kind(app, organisations, role, kind):
    from app.auth.services import create_staff_account

    allowed = ADMIN_ROLE_KIND[role] == kind
    with app.app_context():
        call = lambda: create_staff_account(  # noqa: E731
            username=f"{role}-{kind}",
            role=role,
            password="long-enough-pass",
            display_name="x",
            organisation_id=organisations[kind],
        )
        if allowed:
            assert call().organisation_id == organisations[kind]
        else:
            with pytest.raises(ValidationFailed) as caught:
                call()
            assert caught.value.code == "staff_role_organisation_kind"
            assert "只能属于" in caught.value.detail


def test_the_message_names_both_kinds(app, organisations):
    from app.auth.services import create_staff_account

    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        create_staff_account(
            username="wrong",
            role="employer_admin",
            password="long-enough-pass",
            display_name="x",
            organisation_id=organisations["charity"],
        )
    assert caught.value.detail == "用人单位管理员只能属于用人单位，而该机构是慈善组织"


def test_an_admin_of_an_organisation_that_does_not_exist_is_refused(app, sponsors):
    from app.auth.models import StaffAccount
    from app.auth.services import create_staff_account
    from app.database import get_session

    with app.app_context():
        with pytest.raises(ValidationFailed) as caught:
            create_staff_account(
                username="ghost",
                role="charity_admin",
                password="long-enough-pass",
                display_name="x",
                organisation_id=424242,
            )
        assert caught.value.code == "staff_organisation_not_found"
        assert get_session().query(StaffAccount).filter_by(username="ghost").count() == 0


def test_flask_staff_create_refuses_a_mismatch_with_a_clear_error(app, organisations):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "staff",
            "create",
            "--username",
            "hr-at-charity",
            "--role",
            "employer_admin",
            "--organisation-id",
            str(organisations["charity"]),
            "--password",
            "long-enough-pass",
        ]
    )
    assert result.exit_code != 0
    assert "staff_role_organisation_kind" in result.output
    assert "用人单位管理员只能属于用人单位" in result.output
    result = runner.invoke(
        args=[
            "staff",
            "create",
            "--username",
            "hr-at-employer",
            "--role",
            "employer_admin",
            "--organisation-id",
            str(organisations["employer"]),
            "--password",
            "long-enough-pass",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created staff account" in result.output


# --- operators: a read-only view of every programme ------------------------------------------


@pytest.fixture
def two_funders(sponsors):
    """A relief fund with a 2026 programme (active) and a charity with a 2026 programme (paused)
    and a 2027 one."""
    fund_admin, fund_programme = sponsors.relief_fund()
    org = sponsors.organisation(CHARITY_USCC, "赣州市慈善总会", "charity")
    charity_admin = sponsors.admin(org["id"], "charity_admin")
    paused = sponsors.programme(
        charity_admin, rule={"kind": "full"}, categories=["dibao"], budget_fen=8900, name="慈善助保"
    )
    resp = sponsors.client.post(
        f"/staff/programmes/{paused['id']}/status",
        headers=bearer(charity_admin),
        json={"action": "pause"},
    )
    assert resp.status_code == 200
    next_year = sponsors.programme(
        charity_admin,
        rule={"kind": "full"},
        categories=["dibao"],
        name="慈善助保2027",
        plan_year=2027,
        starts_on="2027-01-01",
        ends_on="2027-12-31",
    )
    return {
        "fund": (fund_admin, fund_programme),
        "charity": (charity_admin, org),
        "paused": paused,
        "next_year": next_year,
    }


def _ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.get_json()
    return [p["id"] for p in resp.get_json()]


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, ["next_year", "paused", "fund"]),  # everyone's, newest first
        ({"status": "paused"}, ["paused"]),
        ({"status": "active"}, ["next_year", "fund"]),
        ({"plan_year": 2027}, ["next_year"]),
        ({"plan_year": 2026}, ["paused", "fund"]),
        ({"organisation_id": "charity"}, ["next_year", "paused"]),
        ({"organisation_id": "charity", "plan_year": 2026}, ["paused"]),
        ({"status": "closed"}, []),
    ],
)
def test_operators_list_every_programme_with_filters(
    sponsors, client, two_funders, query, expected
):
    ids = {
        "fund": two_funders["fund"][1]["id"],
        "paused": two_funders["paused"]["id"],
        "next_year": two_funders["next_year"]["id"],
    }
    if query.get("organisation_id") == "charity":
        query = {**query, "organisation_id": two_funders["charity"][1]["id"]}
    resp = client.get("/staff/programmes", headers=bearer(sponsors.operator), query_string=query)
    assert _ids(resp) == [ids[name] for name in expected]


def test_operators_read_any_programme_and_its_report_but_change_nothing(
    sponsors, client, two_funders
):
    fund_admin, programme = two_funders["fund"]
    path = f"/staff/programmes/{programme['id']}"
    read = client.get(path, headers=bearer(sponsors.operator))
    assert read.status_code == 200 and read.get_json() == sponsors.read(fund_admin, programme["id"])
    report = client.get(f"{path}/report", headers=bearer(sponsors.operator))
    assert report.status_code == 200 and report.get_json()["budget_total_fen"] == 89_000
    before = sponsors.figures(programme["id"])
    for method, suffix, body, headers in (
        ("POST", "/top-ups", {"amount_fen": 100}, {"Idempotency-Key": "operator-try-1"}),
        ("POST", "/status", {"action": "close"}, {}),
    ):
        resp = client.open(
            f"{path}{suffix}",
            method=method,
            json=body,
            headers={**bearer(sponsors.operator), **headers},
        )
        assert_problem(resp, 403, "role_forbidden")
    assert_problem(
        client.post("/staff/programmes", headers=bearer(sponsors.operator), json={}),
        403,
        "role_forbidden",
    )
    assert sponsors.figures(programme["id"]) == before
    assert_problem(
        client.get("/staff/programmes/99999999", headers=bearer(sponsors.operator)),
        404,
        "programme_not_found",
    )


def test_an_organisation_admin_still_sees_only_its_own(sponsors, client, two_funders):
    fund_admin, fund_programme = two_funders["fund"]
    charity_id = two_funders["charity"][1]["id"]
    assert _ids(client.get("/staff/programmes", headers=bearer(fund_admin))) == [
        fund_programme["id"]
    ]
    # Asking for another organisation's programmes gives nothing, not theirs.
    assert (
        _ids(
            client.get(
                "/staff/programmes",
                headers=bearer(fund_admin),
                query_string={"organisation_id": charity_id},
            )
        )
        == []
    )
    assert_problem(
        client.get(f"/staff/programmes/{two_funders['paused']['id']}", headers=bearer(fund_admin)),
        404,
        "programme_not_found",
    )


def test_reviewers_see_no_programmes(sponsors, client, two_funders):
    from app.demo.seed import DEMO_STAFF_PASSWORD
    from tests.security.support import staff_login

    reviewer = staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)["access_token"]
    assert_problem(client.get("/staff/programmes", headers=bearer(reviewer)), 403, "role_forbidden")
