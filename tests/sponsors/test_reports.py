"""Sponsor reports through HTTP: a charity funds people through an invite campaign, then sees its
spend against budget, its beneficiaries (masked), its donation records (JSON and an Excel-ready
CSV) and anonymised outcomes with small counts suppressed; another organisation sees none of it."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.database import get_session
from app.identity.idnumber import mask, mask_name
from app.sponsors import reports
from app.sponsors.reports import ClaimsPaid, register_outcomes_provider, spent_basis_points
from tests.campaigns.conftest import PREMIUM, Campaigns, token_of
from tests.conftest import bearer
from tests.security.support import (
    ORG_ADMIN_PASSWORD,
    assert_leaks_nothing,
    assert_problem,
    create_org_admin,
    person_secrets,
    staff_login,
)
from tests.sponsors.conftest import EMPLOYER_USCC, uscc

PEOPLE = ("刘强", "陈静", "周军")


@pytest.fixture
def funded(sponsors, residents):
    """The charity: budget for 10 premiums, a campaign three residents redeemed."""
    campaigns = Campaigns(sponsors, residents)
    admin, programme = campaigns.charity(budget_fen=10 * PREMIUM)
    link = campaigns.campaign(admin, programme["id"], quota=5)["link"]
    members = {}
    for name in PEOPLE:
        members[name] = campaigns.resident(name)
        resp = campaigns.redeem(members[name], token_of(link))
        assert resp.status_code == 201, resp.get_json()
    return {"admin": admin, "programme": programme, "members": members, "campaigns": campaigns}


def _get(client, path, token, **query):
    resp = client.get(path, headers=bearer(token), query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize(
    "spent, budget, expected",
    [
        (0, 89_000, 0),
        (26_700, 89_000, 3000),  # 26,700 / 89,000 = 0.3 -> 30.00%
        (8_900, 89_000, 1000),
        (1, 3, 3333),  # 0.33333 -> 3333.3 bp -> 3333
        (2, 3, 6667),  # 6666.67 -> 6667 (half up)
        (1, 20_000, 1),  # 0.5 bp -> 1 (half up)
        (89_000, 89_000, 10000),
        (5, 0, 0),  # no budget yet: 0, not a division by zero
    ],
)
def test_spent_basis_points(spent, budget, expected):
    assert spent_basis_points(spent, budget) == expected


def test_summary_spend_against_budget(funded, client):
    body = _get(client, "/staff/reports/summary", funded["admin"])
    assert body["organisation"]["name"] == "赣州市慈善总会"
    [row] = body["programmes"]
    # 3 premiums of 89 yuan paid from a budget of 890 yuan: 267 spent (30%), 623 unspent.
    assert row == {
        "programme_id": funded["programme"]["id"],
        "name": "慈善助保",
        "plan_year": 2026,
        "status": "active",
        "budget_total_fen": 89_000,
        "spent_fen": 26_700,
        "spent_bp": 3000,
        "reserved_unpaid_fen": 0,
        "unspent_fen": 62_300,
        "active_policies": 3,
        "beneficiaries": 3,
        "quota": None,
    }
    assert body["totals"] == {
        "budget_total_fen": 89_000,
        "spent_fen": 26_700,
        "spent_bp": 3000,
        "reserved_unpaid_fen": 0,
        "unspent_fen": 62_300,
        "active_policies": 3,
    }
    assert (
        _get(client, "/staff/reports/summary", funded["admin"], plan_year=2027)["programmes"] == []
    )


def test_a_surrender_gives_the_money_back_to_the_budget(funded, client):
    liu = funded["members"]["刘强"]
    [policy] = _get(client, "/policies", liu)
    resp = client.post(
        f"/policies/{policy['id']}/surrender",
        headers={**bearer(liu), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 200 and resp.get_json()["policy"]["status"] == "void"
    totals = _get(client, "/staff/reports/summary", funded["admin"])["totals"]
    # 2 premiums stand: 178 of 890 yuan spent (20%), 712 unspent, 2 active policies.
    assert (
        totals["spent_fen"],
        totals["spent_bp"],
        totals["unspent_fen"],
        totals["active_policies"],
    ) == (17_800, 2000, 71_200, 2)
    page = _get(client, "/staff/reports/beneficiaries", funded["admin"], status="void")
    assert [r["insured_name_masked"] for r in page["items"]] == [mask_name("刘强")]
    assert page["items"][0]["subsidy_fen"] == 0  # paid, then given back in full


def test_beneficiaries_are_masked_paginated_and_audited(funded, client, residents, app):
    first = _get(client, "/staff/reports/beneficiaries", funded["admin"], page=1, page_size=2)
    second = _get(client, "/staff/reports/beneficiaries", funded["admin"], page=2, page_size=2)
    assert (first["total"], second["total"], len(first["items"]), len(second["items"])) == (
        3,
        3,
        2,
        1,
    )
    rows = first["items"] + second["items"]
    assert sorted(r["id_number_masked"] for r in rows) == sorted(
        mask(residents[n].certno) for n in PEOPLE
    )
    assert sorted(r["insured_name_masked"] for r in rows) == sorted(mask_name(n) for n in PEOPLE)
    for row in rows:
        assert row["policy_status"] == "active" and row["policy_status_label"] == "有效"
        assert row["subsidy_fen"] == PREMIUM and row["programmes"] == [
            {
                "programme_id": funded["programme"]["id"],
                "programme_name": "慈善助保",
                "subsidy_fen": PREMIUM,
            }
        ]
    # Nothing that identifies a person in full.
    for page in (1, 2):
        resp = client.get(
            "/staff/reports/beneficiaries",
            headers=bearer(funded["admin"]),
            query_string={"page": page, "page_size": 2},
        )
        assert_leaks_nothing(
            resp,
            [
                s
                for n in PEOPLE
                for s in person_secrets(residents[n])
                if s != mask(residents[n].certno)
            ],
        )
    with app.app_context():
        reads = (
            get_session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "sponsor.beneficiaries_read"))
            .all()
        )
        assert len(reads) == 4 and {r.detail["rows"] for r in reads} == {1, 2}


def test_beneficiary_filters(funded, client, sponsors):
    admin = funded["admin"]
    assert _get(client, "/staff/reports/beneficiaries", admin, plan_year=2027)["total"] == 0
    assert (
        _get(client, "/staff/reports/beneficiaries", admin, programme_id=funded["programme"]["id"])[
            "total"
        ]
        == 3
    )
    # Another organisation's programme id is a 404, as for one that does not exist.
    other = sponsors.organisation(EMPLOYER_USCC, "赣州某科技有限公司", "employer")
    other_admin = sponsors.admin(other["id"], "employer_admin")
    other_programme = sponsors.programme(other_admin, rule={"kind": "full"}, roster_only=True)
    for programme_id in (other_programme["id"], 99_999_999):
        assert_problem(
            client.get(
                "/staff/reports/beneficiaries",
                headers=bearer(admin),
                query_string={"programme_id": programme_id},
            ),
            404,
            "programme_not_found",
        )


def test_another_organisation_sees_none_of_it(funded, client, sponsors, residents):
    org = sponsors.organisation(uscc("51360700MJ1357913"), "另一慈善基金会", "charity")
    other = sponsors.admin(org["id"], "charity_admin")
    summary = _get(client, "/staff/reports/summary", other)
    assert summary["programmes"] == [] and summary["totals"]["budget_total_fen"] == 0
    assert _get(client, "/staff/reports/beneficiaries", other)["items"] == []
    assert _get(client, "/staff/reports/donations", other)["items"] == []
    assert _get(client, "/staff/reports/outcomes", other)["years"] == []
    for path in ("summary", "beneficiaries", "donations", "donations.csv", "outcomes"):
        resp = client.get(f"/staff/reports/{path}", headers=bearer(other))
        assert_leaks_nothing(
            resp,
            ["赣州市慈善总会", "慈善助保"]
            + [s for n in PEOPLE for s in person_secrets(residents[n])]
            + [mask_name(n) for n in PEOPLE],
        )


def test_reports_are_for_organisation_admins_only(funded, client, sponsors):
    for path in ("summary", "beneficiaries", "donations", "donations.csv", "outcomes"):
        assert_problem(
            client.get(f"/staff/reports/{path}", headers=bearer(sponsors.operator)),
            403,
            "role_forbidden",
        )
        assert_problem(
            client.get(f"/staff/reports/{path}", headers=bearer(funded["members"]["刘强"])),
            401,
            "token_audience",
        )


# --- donations -------------------------------------------------------------------------------


@pytest.fixture
def donor(sponsors):
    """An employer that tops up twice: 2025-12-31 23:30 Shanghai (tax year 2025) and
    2026-01-01 00:30 Shanghai (2026), on a programme whose name looks like a formula."""
    org = sponsors.organisation(EMPLOYER_USCC, "=赣州某科技有限公司", "employer")
    create_org_admin(sponsors.app, "donor-hr", role="employer_admin", organisation_id=org["id"])

    def admin() -> str:  # a fresh login wherever the clock stands
        return staff_login(sponsors.client, "donor-hr", ORG_ADMIN_PASSWORD)["access_token"]

    programme = sponsors.programme(
        admin(), rule={"kind": "full"}, roster_only=True, name='=HYPERLINK("http://x")员工关爱'
    )
    with time_machine.travel("2025-12-31T15:30:00+00:00", tick=True):
        sponsors.top_up(admin(), programme["id"], 123_456)
    with time_machine.travel("2025-12-31T16:30:00+00:00", tick=True):
        sponsors.top_up(admin(), programme["id"], 50_000)
    return admin(), programme


def test_donation_records_by_shanghai_calendar_year(donor, client):
    admin, programme = donor
    body = _get(client, "/staff/reports/donations", admin)
    assert [(i["date"], i["amount_fen"], i["amount_yuan"], i["kind"]) for i in body["items"]] == [
        ("2025-12-31", 123_456, "1,234.56", "top_up"),
        ("2026-01-01", 50_000, "500.00", "top_up"),
    ]
    assert body["total_fen"] == 173_456
    first = body["items"][0]
    assert (first["organisation_name"], first["organisation_uscc"]) == (
        "=赣州某科技有限公司",
        EMPLOYER_USCC,
    )
    assert (first["programme_id"], first["programme_name"]) == (programme["id"], programme["name"])
    # Money handed back to the sponsor (no service writes one yet: the programme ledger's
    # `refund` kind is reserved for it) is listed as a negative record in its year.
    from app.database import transaction
    from app.sponsors.models import ProgrammeLedgerEntry

    with (
        time_machine.travel("2026-03-01T02:00:00+00:00", tick=False),
        client.application.app_context(),
        transaction() as s,
    ):
        s.add(ProgrammeLedgerEntry(programme_id=programme["id"], kind="refund", amount_fen=-20_000))
    y2026 = _get(client, "/staff/reports/donations", admin, year=2026)
    assert [
        (i["date"], i["kind"], i["kind_label"], i["amount_fen"], i["amount_yuan"])
        for i in y2026["items"]
    ] == [
        ("2026-01-01", "top_up", "捐赠（预算充值）", 50_000, "500.00"),
        ("2026-03-01", "refund", "退回", -20_000, "-200.00"),
    ]
    assert y2026["total_fen"] == 30_000
    y2025 = _get(client, "/staff/reports/donations", admin, year=2025)
    y2026 = _get(client, "/staff/reports/donations", admin, year=2026)
    assert [i["amount_fen"] for i in y2025["items"]] == [123_456] and y2025["year"] == 2025


def test_donation_csv_opens_in_excel(donor, client):
    admin, programme = donor
    resp = client.get(
        "/staff/reports/donations.csv", headers=bearer(admin), query_string={"year": 2025}
    )
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="donations-2025.csv"'
    raw = resp.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == list(reports.CSV_HEADER)
    [row] = rows[1:]
    entry_id, day, kind, yuan, fen, org_name, org_uscc, programme_id, programme_name = row
    assert (day, kind, yuan, fen) == ("2025-12-31", "捐赠（预算充值）", "1,234.56", "123456")
    assert (org_uscc, programme_id) == (EMPLOYER_USCC, str(programme["id"]))
    # Text that a spreadsheet would run as a formula is quoted with an apostrophe.
    assert org_name == "'=赣州某科技有限公司"
    assert programme_name == '\'=HYPERLINK("http://x")员工关爱'
    assert raw.count(b"\r\n") == 2
    whole = client.get("/staff/reports/donations.csv", headers=bearer(admin))
    assert whole.headers["Content-Disposition"] == 'attachment; filename="donations.csv"'
    assert len(list(csv.reader(io.StringIO(whole.data.decode("utf-8-sig"))))) == 3


# --- outcomes --------------------------------------------------------------------------------


def test_outcomes_without_a_claims_provider_count_nothing_and_suppress(funded, client):
    body = _get(client, "/staff/reports/outcomes", funded["admin"])
    assert body == {
        "min_cell": 5,
        "years": [
            {
                "plan_year": 2026,
                "beneficiaries": 3,
                "suppressed": True,
                "claims_paid_count": None,
                "claims_paid_fen": None,
            }
        ],
    }


@pytest.mark.parametrize(
    "per_policy, min_cell, shown",
    [
        (1, 5, False),  # 3 policies x 1 claim = 3 claims < 5: suppressed, sum too
        (2, 5, True),  # 6 claims >= 5: shown
        (1, 3, True),  # 3 claims, minimum 3: shown (the minimum itself is not suppressed)
        (1, 4, False),  # 3 claims < 4
    ],
)
def test_outcomes_suppress_small_counts(funded, client, app, per_policy, min_cell, shown):
    """A fake claims provider: `per_policy` claims of 1,000 yuan paid on each policy it is asked
    about. It runs the SELECT it is given, so the test also shows which policies those are."""
    from app.policies.models import Policy

    asked: list[list[int]] = []

    def fake_claims(session, policy_ids):
        ids = sorted(session.scalars(policy_ids))
        asked.append(ids)
        return ClaimsPaid(count=per_policy * len(ids), paid_fen=per_policy * len(ids) * 100_000)

    register_outcomes_provider(app, fake_claims)
    app.config["SPONSOR_REPORT_MIN_CELL"] = min_cell
    body = _get(client, "/staff/reports/outcomes", funded["admin"])
    [year] = body["years"]
    assert body["min_cell"] == min_cell and year["suppressed"] is (not shown)
    if shown:
        assert (year["claims_paid_count"], year["claims_paid_fen"]) == (
            3 * per_policy,
            3 * per_policy * 100_000,
        )
    else:
        assert year["claims_paid_count"] is None and year["claims_paid_fen"] is None
    with app.app_context():
        funded_ids = sorted(get_session().scalars(select(Policy.id)))
    assert asked == [funded_ids] and len(funded_ids) == 3


def test_outcomes_ask_only_about_this_organisations_beneficiaries(
    funded, client, app, sponsors, residents
):
    """Another organisation (a relief fund paying for 张建国, low income) has its own policy; the
    charity's outcomes never ask about it."""
    from app.policies.models import Policy
    from tests.conftest import login, verify
    from tests.enrollment.conftest import place_order

    sponsors.relief_fund(categories=("low_income",))
    token = login(client, "zhang-jianguo")["access_token"]
    assert verify(client, token, residents["张建国"]).status_code == 200
    order = place_order(client, {"token": token}, [], method=None)
    assert order["status"] == "paid"
    asked: list[int] = []
    register_outcomes_provider(app, lambda s, ids: asked.extend(s.scalars(ids)) or ClaimsPaid(0, 0))
    _get(client, "/staff/reports/outcomes", funded["admin"])
    with app.app_context():
        total = get_session().scalar(select(func.count()).select_from(Policy))
    assert total == 4 and len(asked) == 3


def test_a_provider_returning_nonsense_is_a_bug_not_a_figure(funded, client, app):
    register_outcomes_provider(app, lambda s, ids: ClaimsPaid(-1, 0))
    resp = client.get("/staff/reports/outcomes", headers=bearer(funded["admin"]))
    assert_problem(resp, 500, "internal_error")


@pytest.mark.parametrize("raw, expected", [(None, 5), ("7", 7), ("1", 1)])
def test_the_minimum_cell_comes_from_the_environment(monkeypatch, raw, expected):
    from app.config import development_config

    if raw is None:
        monkeypatch.delenv("SPONSOR_REPORT_MIN_CELL", raising=False)
    else:
        monkeypatch.setenv("SPONSOR_REPORT_MIN_CELL", raw)
    assert development_config().SPONSOR_REPORT_MIN_CELL == expected


def test_no_full_id_number_in_the_logs_of_a_scan_and_a_beneficiary_read(
    sponsors, residents, client, caplog
):
    """The redemption re-reads the person and the report decrypts ID numbers to mask them:
    neither writes a full ID number (nor its first 17 characters) to any log, SQL echo included."""
    import logging

    caplog.set_level(logging.DEBUG)
    for name in ("", "app", "sqlalchemy.engine", "werkzeug"):
        caplog.set_level(logging.DEBUG, logger=name)
    campaigns = Campaigns(sponsors, residents)
    admin, programme = campaigns.charity()
    link = campaigns.campaign(admin, programme["id"])["link"]
    assert campaigns.redeem(campaigns.resident("刘强"), token_of(link)).status_code == 201
    page = _get(client, "/staff/reports/beneficiaries", admin)
    certno = residents["刘强"].certno
    assert page["items"][0]["id_number_masked"] == mask(certno)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL not logged"
    assert certno[:17] not in caplog.text and certno[:17] not in str(
        [vars(r) for r in caplog.records]
    )
