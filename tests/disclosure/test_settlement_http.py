"""The insurer's settlement for a plan year over HTTP (operators only), as CSV, and from the CLI,
after the mixed scenario (tests/disclosure/conftest.py) and a claim payout."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlalchemy import select

from app.database import get_session, transaction
from app.demo.seed import DEMO_STAFF_PASSWORD
from app.disclosure.aggregates import record_claim_paid
from app.products.models import Product
from tests.conftest import bearer
from tests.security.support import assert_problem, staff_login


def _operator(client) -> dict:
    return bearer(staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)["access_token"])


def _ganzhou(body: dict) -> dict:
    return next(r for r in body["products"] if r["product_code"] == "ganzhou-demo-2026")


def test_settlement_before_and_after_claims(scenario):
    scenario.run()
    client = scenario.client
    resp = client.get("/staff/disclosure/settlement?plan_year=2026", headers=_operator(client))
    assert resp.status_code == 200, resp.get_json()
    row = _ganzhou(resp.get_json())
    # Collected: 张伟's family 3 x 8,900 + 陈静 5,934 from personal accounts = 32,634;
    # 孙丽 8,900 by WeChat; 刘强 8,900 by the relief fund; 陈静 2,966 by her employer.
    assert row["premiums_collected_by_source_fen"] == {
        "personal_account": 32_634,
        "wechat": 8_900,
        "employer": 2_966,
        "charity": 0,
        "relief_fund": 8_900,
        "paired_assistance": 0,
    }
    assert (
        row["premiums_collected_fen"],
        row["premiums_refunded_fen"],
        row["net_premium_fen"],
    ) == (53_400, 8_900, 44_500)
    # Nothing paid yet: 0% < 80%; shortfall 44,500 x 80% = 35,600. Corridor: below 95%, the
    # insurer keeps 0 + 0, the whole 44,500 returns and carries forward; renegotiate.
    assert (row["loss_ratio_bp"], row["meets_floor"], row["floor_shortfall_fen"]) == (
        0,
        False,
        35_600,
    )
    assert row["corridor"] == {
        "band": "below_full_premium",
        "insurer_keeps_fen": 0,
        "cost_allowance_fen": 0,
        "returned_fen": 44_500,
        "renegotiate": True,
    }
    assert (row["surplus_carried_forward_fen"], row["renegotiate"]) == (44_500, True)

    with scenario.app.app_context():
        product_id = get_session().scalar(
            select(Product.id).where(Product.code == "ganzhou-demo-2026")
        )
        with transaction() as s:
            record_claim_paid(s, product_id, 2026, date(2026, 4, 1), 40_000)
    row = _ganzhou(
        client.get(
            "/staff/disclosure/settlement?plan_year=2026", headers=_operator(client)
        ).get_json()
    )
    # 40,000 / 44,500 = 89.8876% -> 8,989 bp, above the 80% floor. Corridor: below 95%:
    # allowance 40,000 x 4% = 1,600; keeps 41,600; returns 44,500 - 41,600 = 2,900.
    assert (row["claims_paid"], row["claims_paid_fen"]) == (1, 40_000)
    assert (row["loss_ratio_bp"], row["loss_ratio_display"]) == (8_989, "89.89%")
    assert (row["meets_floor"], row["floor_shortfall_fen"]) == (True, 0)
    assert row["corridor"] == {
        "band": "below_full_premium",
        "insurer_keeps_fen": 41_600,
        "cost_allowance_fen": 1_600,
        "returned_fen": 2_900,
        "renegotiate": True,
    }
    assert (row["surplus_carried_forward_fen"], row["insurer_margin_fen"]) == (2_900, 1_600)
    # 共保体 60/40: collected 32,040/21,360, refunded 5,340/3,560, net 26,700/17,800, paid
    # 24,000/16,000, allowance 960/640, keeps paid + allowance = 24,960/16,640, returned
    # net - keeps = 1,740/1,160 (2,900 in all), margin 960/640.
    shares = [
        (
            i["code"],
            i["lead"],
            i["share_bp"],
            i["premiums_collected_fen"],
            i["premiums_refunded_fen"],
            i["net_premium_fen"],
            i["claims_paid_fen"],
            i["cost_allowance_fen"],
            i["insurer_keeps_fen"],
            i["returned_fen"],
            i["surplus_carried_forward_fen"],
            i["insurer_margin_fen"],
        )
        for i in row["insurers"]
    ]
    assert shares == [
        ("demo-lead", True, 6000, 32_040, 5_340, 26_700, 24_000, 960, 24_960, 1_740, 1_740, 960),
        ("demo-co", False, 4000, 21_360, 3_560, 17_800, 16_000, 640, 16_640, 1_160, 1_160, 640),
    ]

    # The same figures as CSV: UTF-8 with a byte-order mark, Chinese headers, fen.
    resp = client.get("/staff/disclosure/settlement.csv?plan_year=2026", headers=_operator(client))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="settlement-2026.csv"'
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    rows = [r for r in lines if r["承保机构"] == "合计"]
    assert [r["产品代码"] for r in rows] == ["ganzhou-demo-2026"]
    # then one row per co-insurer, lead first, with its share of the money columns
    insurers = [r for r in lines if r["承保机构"] != "合计"]
    assert [
        (r["承保机构"], r["承保份额"], r["净保费（分）"], r["赔款支出（分）"], r["返还基金（分）"])
        for r in insurers
    ] == [
        ("示范人寿赣州分公司（演示）（主承保）", "60%", "26700", "24000", "1740"),
        ("示范财险赣州分公司（演示）", "40%", "17800", "16000", "1160"),
    ]
    assert all(r["赔付率"] == "" and r["产品代码"] == "ganzhou-demo-2026" for r in insurers)
    assert (
        rows[0]["净保费（分）"],
        rows[0]["赔款支出（分）"],
        rows[0]["赔付率"],
        rows[0]["返还基金（分）"],
        rows[0]["需重新议价"],
        rows[0]["达到下限"],
    ) == ("44500", "40000", "89.89%", "2900", "是", "是")
    assert rows[0]["其中救助资金（分）"] == "8900"


def test_huhuibao_has_no_floor_or_corridor(seeded):
    client = seeded.test_client()
    body = client.get(
        "/staff/disclosure/settlement?plan_year=2021", headers=_operator(client)
    ).get_json()
    [row] = body["products"]
    assert (
        row["product_code"],
        row["loss_ratio_bp"],
        row["meets_floor"],
        row["corridor"],
        row["surplus_carried_forward_fen"],
    ) == ("huhuibao-2021", None, None, None, 0)
    csv_text = (
        client.get("/staff/disclosure/settlement.csv?plan_year=2021", headers=_operator(client))
        .get_data()
        .decode("utf-8-sig")
    )
    [line] = list(csv.DictReader(io.StringIO(csv_text)))
    assert (line["走廊区间"], line["达到下限"], line["赔付率"]) == ("", "", "")


def test_settlement_needs_a_plan_year_and_an_operator(seeded):
    client = seeded.test_client()
    assert_problem(client.get("/staff/disclosure/settlement", headers=_operator(client)), 422)
    reviewer = bearer(staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)["access_token"])
    assert_problem(
        client.get("/staff/disclosure/settlement?plan_year=2026", headers=reviewer),
        403,
        "role_forbidden",
    )
    assert client.get(
        "/staff/disclosure/settlement?plan_year=2030", headers=_operator(client)
    ).get_json() == {"plan_year": 2030, "products": []}


def test_cli_export(scenario, tmp_path):
    scenario.run()
    runner = scenario.app.test_cli_runner()
    result = runner.invoke(args=["disclosure", "export", "--plan-year", "2026", "--format", "json"])
    assert result.exit_code == 0, result.output
    row = _ganzhou(json.loads(result.output))
    assert (row["net_premium_fen"], row["surplus_carried_forward_fen"]) == (44_500, 44_500)

    target = tmp_path / "settlement.csv"
    result = runner.invoke(
        args=["disclosure", "export", "--plan-year", "2026", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    with scenario.app.app_context():
        from app.disclosure.services import settlement_csv, settlement_report

        assert target.read_bytes() == settlement_csv(settlement_report(2026)).encode("utf-8")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    bad = runner.invoke(args=["disclosure", "export", "--plan-year", "1999"])
    assert bad.exit_code != 0
