"""Operators register sponsors by USCC; an organisation's admins run their own programmes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.database import get_session, transaction
from app.sponsors.models import ProgrammeLedgerEntry
from app.sponsors.services import check_programmes
from tests.conftest import bearer
from tests.security.support import assert_problem
from tests.sponsors.conftest import CHARITY_USCC, EMPLOYER_USCC, RELIEF_USCC, idem


def test_operator_registers_an_organisation_with_a_normalised_uscc(sponsors, client):
    # Full-width characters and spaces are folded; lower case is upped.
    raw = " " + CHARITY_USCC[:9].lower() + " " + CHARITY_USCC[9:].replace("J", "Ｊ")
    org = sponsors.organisation(raw, "赣州市慈善总会", "charity")
    assert (org["uscc"], org["kind"], org["name"]) == (CHARITY_USCC, "charity", "赣州市慈善总会")
    again = client.post(
        "/staff/organisations",
        headers=bearer(sponsors.operator),
        json={"uscc": CHARITY_USCC, "name": "重复", "kind": "charity"},
    )
    assert_problem(again, 409, "organisation_exists")
    read = client.get(f"/staff/organisations/{org['id']}", headers=bearer(sponsors.operator))
    assert read.status_code == 200 and read.get_json() == org


@pytest.mark.parametrize(
    "raw, code",
    [
        ("91360700MA35ABCD", "uscc_length"),
        (EMPLOYER_USCC[:-1] + "I", "uscc_character"),
        ("B" + EMPLOYER_USCC[1:], "uscc_authority"),
        ("94" + EMPLOYER_USCC[2:], "uscc_category"),
        ("9136A700MA35ABCDE0", "uscc_region"),
        (EMPLOYER_USCC[:-1] + ("0" if EMPLOYER_USCC[-1] != "0" else "1"), "uscc_checksum"),
    ],
)
def test_bad_uscc_is_a_422_with_its_code_and_a_chinese_message(sponsors, client, raw, code):
    resp = client.post(
        "/staff/organisations",
        headers=bearer(sponsors.operator),
        json={"uscc": raw, "name": "某机构", "kind": "employer"},
    )
    body = assert_problem(resp, 422, code)
    assert "统一社会信用代码" in body["detail"]


def test_only_operators_register_organisations(sponsors, client):
    org = sponsors.organisation(RELIEF_USCC, "赣州市民政局", "relief_fund")
    admin = sponsors.admin(org["id"])
    resp = client.post(
        "/staff/organisations",
        headers=bearer(admin),
        json={"uscc": EMPLOYER_USCC, "name": "x", "kind": "employer"},
    )
    assert_problem(resp, 403, "role_forbidden")
    assert client.get(f"/staff/organisations/{org['id']}", headers=bearer(admin)).status_code == 200


def test_programme_lifecycle_and_ledger(sponsors, client):
    admin, programme = sponsors.relief_fund(budget_fen=0)
    assert programme["status"] == "active" and programme["budget_total_fen"] == 0
    assert programme["rule"] == {"kind": "full", "amount_fen": None, "basis_points": None}
    assert programme["eligibility"] == {"categories": ["dibao", "tekun"], "roster_only": False}
    pid = programme["id"]

    # A top-up is idempotent: the same key replays, a new key adds again.
    key = idem()
    for _ in range(2):
        resp = client.post(
            f"/staff/programmes/{pid}/top-ups",
            headers={**bearer(admin), **key},
            json={"amount_fen": 100_000},
        )
        assert resp.status_code == 200 and resp.get_json()["budget_total_fen"] == 100_000
    assert sponsors.top_up(admin, pid, 50_000)["budget_unspent_fen"] == 150_000
    for bad in (0, -1, 10**10 + 1, "100"):
        resp = client.post(
            f"/staff/programmes/{pid}/top-ups",
            headers={**bearer(admin), **idem()},
            json={"amount_fen": bad},
        )
        assert_problem(resp, 422)

    def status(action):
        return client.post(
            f"/staff/programmes/{pid}/status", headers=bearer(admin), json={"action": action}
        )

    assert status("pause").get_json()["status"] == "paused"
    assert_problem(status("pause"), 409, "programme_status_conflict")
    assert status("resume").get_json()["status"] == "active"
    assert status("close").get_json()["status"] == "closed"
    assert_problem(status("resume"), 409, "programme_status_conflict")
    resp = client.post(
        f"/staff/programmes/{pid}/top-ups",
        headers={**bearer(admin), **idem()},
        json={"amount_fen": 1},
    )
    assert_problem(resp, 409, "programme_closed")

    listed = client.get("/staff/programmes", headers=bearer(admin)).get_json()
    assert [p["id"] for p in listed] == [pid]
    report = client.get(f"/staff/programmes/{pid}/report", headers=bearer(admin)).get_json()
    assert report["budget_total_fen"] == 150_000 and report["unspent_fen"] == 150_000
    assert report["beneficiaries"] == 0 and report["active_policies_funded"] == 0
    with sponsors.app.app_context():
        kinds = [
            (e.kind, e.amount_fen)
            for e in get_session().scalars(
                select(ProgrammeLedgerEntry).order_by(ProgrammeLedgerEntry.id)
            )
        ]
        assert kinds == [("top_up", 100_000), ("top_up", 50_000)]
        assert check_programmes() == []


@pytest.mark.parametrize(
    "change, code",
    [
        ({"rule": {"kind": "fixed"}}, "funding_amount"),
        ({"rule": {"kind": "full", "basis_points": 5000}}, "funding_basis_points"),
        ({"eligibility": {"categories": [], "roster_only": False}}, "eligibility_invalid"),
        ({"eligibility": {"categories": ["dibao"], "roster_only": True}}, "eligibility_invalid"),
        ({"starts_on": "2026-12-31", "ends_on": "2026-01-01"}, "programme_dates"),
        ({"product_id": 999999}, "product_not_found"),
    ],
)
def test_programme_validation(sponsors, client, change, code):
    org = sponsors.organisation(CHARITY_USCC, "赣州市慈善总会", "charity")
    admin = sponsors.admin(org["id"], "charity_admin")
    body = {
        "name": "助困",
        "plan_year": 2026,
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "rule": {"kind": "full"},
        "eligibility": {"categories": ["dibao"]},
        **change,
    }
    resp = client.post("/staff/programmes", headers=bearer(admin), json=body)
    assert_problem(resp, 422, code)


def test_programmes_are_scoped_to_their_organisation(sponsors, client):
    admin_a, programme = sponsors.relief_fund()
    org_b = sponsors.organisation(CHARITY_USCC, "赣州市慈善总会", "charity")
    admin_b = sponsors.admin(org_b["id"], "charity_admin")
    assert client.get("/staff/programmes", headers=bearer(admin_b)).get_json() == []
    for path in (
        f"/staff/programmes/{programme['id']}",
        f"/staff/programmes/{programme['id']}/report",
    ):
        assert_problem(client.get(path, headers=bearer(admin_b)), 404, "programme_not_found")
    assert_problem(
        client.get(f"/staff/organisations/{programme['organisation_id']}", headers=bearer(admin_b)),
        404,
        "organisation_not_found",
    )
    # Programmes are an organisation admin's business: operators may read them (issue 4 §1, see
    # tests/sponsors/test_org_roles.py) but not run them.
    assert_problem(
        client.post(
            f"/staff/programmes/{programme['id']}/status",
            json={"action": "pause"},
            headers=bearer(sponsors.operator),
        ),
        403,
        "role_forbidden",
    )


def test_ledger_check_finds_a_figure_that_does_not_match(sponsors):
    _admin, programme = sponsors.relief_fund(budget_fen=8900)
    from sqlalchemy import update

    from app.sponsors.models import Programme

    with sponsors.app.app_context():
        assert check_programmes() == []
        with transaction() as s:  # a writer that bypasses the service
            s.execute(update(Programme).values(budget_total_fen=Programme.budget_total_fen + 1))
        [problem] = check_programmes()
        assert problem.programme_id == programme["id"]
        assert "budget_total_fen is 8901, ledger sums to 8900" in problem.message


def test_ledger_entries_are_append_only(sponsors):
    sponsors.relief_fund(budget_fen=8900)
    with sponsors.app.app_context():
        s = get_session()
        entry = s.scalars(select(ProgrammeLedgerEntry)).first()
        entry.amount_fen = 1
        with pytest.raises(RuntimeError, match="append-only"):
            s.flush()
        s.rollback()
