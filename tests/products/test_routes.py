"""Public product pages. Dates are pinned in Asia/Shanghai (time-machine)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import time_machine

from app.common.clock import SHANGHAI
from app.products import services

TODAY = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def loaded(app):
    with app.app_context():
        services.load_products()
    return app


@pytest.fixture
def pinned():
    with time_machine.travel(TODAY, tick=False):
        yield


def test_current_is_the_ganzhou_demo_today(client, loaded, pinned):
    resp = client.get("/products/current")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "ganzhou-demo-2026"
    assert body["window"] == {"opens": "2025-10-01", "closes": "2026-12-31", "open_now": True}
    assert body["coverage"] == {
        "starts": "2026-01-01",
        "ends": "2026-12-31",
        "late_enrollment_waiting_days": 0,
        "cover_start_rule": "payment_day",
        "starts_if_paid_today": "2026-11-23",  # 自缴费成功之日起
        "renews": None,
    }
    assert body["premium"] == {"default_fen": 8900, "rules": []}
    assert body["insured_relations"] == ["self", "spouse", "child", "parent"]
    assert body["payment_methods"] == ["personal_account", "wechat", "sponsor"]
    assert body["family_pool_relations"] == ["self", "spouse", "child", "parent"]
    assert body["refund"] == {"within_days": 15, "requires_no_claim": True}
    assert body["terms_version"] == "2026.1"
    assert body["bounds"] == {
        "premium_max_fen": 10000,
        "deductible_max_fen": 1500000,
        "cap_min_fen": 100000000,
        "loss_ratio_floor_bp": 8000,
    }
    assert body["required_documents"]["chronic_outpatient"] == [
        "invoice",
        "settlement_sheet",
        "prescription",
    ]
    assert "auto_approve_max_fen" not in body  # an internal threshold, not for the public
    inside = body["buckets"][0]
    assert (inside["ratio_healthy_bp"], inside["ratio_healthy_percent"]) == (7500, "75%")
    assert inside["tiers"] == [
        {
            "above_fen": 10000000,
            "ratio_healthy_bp": 8500,
            "ratio_healthy_percent": "85%",
            "ratio_pre_existing_bp": 6000,
            "ratio_pre_existing_percent": "60%",
        }
    ]
    assert body["buckets"][2]["sub_caps"] == [
        {"code": "per_drug", "name": "单个药品年度限额", "cap_fen": 20000000, "per": "item"}
    ]


def test_in_december_next_year_is_offered_from_1_january_and_this_year_still_listed(client, loaded):
    with time_machine.travel(datetime(2026, 12, 6, 10, 0, tzinfo=SHANGHAI), tick=False):
        current = client.get("/products/current").get_json()
        listed = client.get("/products").get_json()
    assert (current["code"], current["plan_year"]) == ("ganzhou-demo-2027", 2027)
    assert current["coverage"]["starts_if_paid_today"] == "2027-01-01"
    assert (current["coverage"]["cover_start_rule"], current["coverage"]["renews"]) == (
        "fixed",
        "ganzhou-demo-2026",
    )
    assert current["terms_version"] == "2027.1"
    open_now = {p["code"]: p["window"]["open_now"] for p in listed}
    assert open_now == {
        "ganzhou-demo-2027": True,
        "ganzhou-demo-2026": True,
        "huhuibao-2021": False,
    }


def test_no_current_product_after_every_window(client, loaded):
    with time_machine.travel(datetime(2027, 6, 1, 10, 0, tzinfo=SHANGHAI), tick=False):
        resp = client.get("/products/current")
    assert resp.status_code == 404
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["code"] == "product_not_found"


@pytest.mark.parametrize(
    "utc_moment, status",
    [
        (datetime(2026, 12, 31, 15, 30, tzinfo=UTC), 200),  # 23:30 on the 31st in Shanghai
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), 404),  # 00:30 on 1 January in Shanghai
    ],
)
def test_shanghai_midnight_decides_the_day(client, loaded, utc_moment, status):
    with time_machine.travel(utc_moment, tick=False):
        assert client.get("/products/current").status_code == status


def test_huhuibao_matches_the_public_table(client, loaded, pinned):
    resp = client.get("/products/huhuibao-2021")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["premium"]["default_fen"] == 11500
    assert body["window"]["open_now"] is False
    assert body["bounds"] is None
    rows = [
        (
            b["counts"],
            b["deductible_fen"],
            b["ratio_healthy_bp"],
            b["ratio_pre_existing_bp"],
            b["ratio_healthy_percent"],
            b["ratio_pre_existing_percent"],
            b["cap_fen"],
        )
        for b in body["buckets"]
    ]
    assert rows == [
        (
            ["in_policy_self_pay", "out_of_policy_self_pay"],
            2000000,
            7000,
            5000,
            "70%",
            "50%",
            100000000,
        ),
        (["special_drugs"], 0, 7000, 3000, "70%", "30%", 100000000),
        (["proton_heavy_ion"], 0, 7000, 3000, "70%", "30%", 30000000),
    ]


def test_list_newest_plan_year_first(client, loaded, pinned):
    body = client.get("/products").get_json()
    assert [(p["code"], p["window"]["open_now"]) for p in body] == [
        ("ganzhou-demo-2027", False),  # on sale from 2026-12-01
        ("ganzhou-demo-2026", True),
        ("huhuibao-2021", False),
    ]


def test_terms(client, loaded):
    resp = client.get("/products/ganzhou-demo-2026/terms")
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["product_code"], body["version"]) == ("ganzhou-demo-2026", "2026.1")
    assert body["title"] == "赣州惠民保 2026（示范）保险条款"
    assert body["text"].startswith("# 赣州惠民保 2026（示范）保险条款")
    assert body["sha256"] == hashlib.sha256(body["text"].encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    "path",
    [
        "/products/unknown",
        "/products/unknown/terms",
        "/products/BAD_CODE!",
        "/products/BAD_CODE!/terms",
        "/products/" + "a" * 41,
    ],
)
def test_unknown_or_malformed_code_is_404_problem(client, loaded, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["code"] in ("product_not_found", "not_found")


def test_unknown_code_says_product_not_found(client, loaded):
    body = client.get("/products/unknown").get_json()
    assert (body["code"], body["detail"]) == ("product_not_found", "产品不存在")


def test_retired_product_is_a_bare_404(client, loaded):
    with loaded.app_context():
        services.retire_product("huhuibao-2021")
    for path in ("/products/huhuibao-2021", "/products/huhuibao-2021/terms"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.get_json() == client.get("/products/never-existed").get_json()
    codes = [p["code"] for p in client.get("/products").get_json()]
    assert codes == ["ganzhou-demo-2027", "ganzhou-demo-2026"]


def test_public_without_login_and_documented(client, loaded):
    spec = client.get("/openapi.json").get_json()
    for path in ("/products", "/products/current", "/products/{code}", "/products/{code}/terms"):
        operation = spec["paths"][path]["get"]
        assert "security" not in operation
    param = spec["paths"]["/products/{code}"]["parameters"][0]
    assert param["schema"]["pattern"] == "^[a-z0-9-]{1,40}$"


@pytest.mark.parametrize(
    "bp, text",
    [(7000, "70%"), (7050, "70.5%"), (7005, "70.05%"), (10000, "100%"), (0, "0%"), (1, "0.01%")],
)
def test_percent_strings(bp, text):
    from app.products.schemas import percent

    assert percent(bp) == text
