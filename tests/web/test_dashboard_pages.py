"""The operator dashboard's page (/console/dashboard) and the JSON it polls
(/console/dashboard/data.json): operators only, the same figures as the service and the API, no
personal data, every script served by the app (ECharts vendored and pinned)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import time_machine

from app.demo.seed import DEMO_STAFF_PASSWORD
from app.disclosure.dashboard import dashboard
from tests import factories
from tests.conftest import bearer
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)
from tests.web.support import signed_in

NOW = "2026-11-23T02:00:00+00:00"  # 10:00 in Shanghai, the demo product's window open
ECHARTS = Path(__file__).resolve().parents[2] / "app/static/vendor/echarts-5.6.0"
# sha256 of dist/echarts.min.js in `npm pack echarts@5.6.0`
ECHARTS_SHA256 = "bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1"


@pytest.fixture
def world(fast_password_hashing, seeded, residents):
    """张伟 enrolled with 李娜 and 张小宝 today (personal account)."""
    with time_machine.travel(NOW, tick=True):
        member_id = factories.verified_member(seeded, "dash-zhang", residents["张伟"])["member_id"]
        spouse = factories.relative(seeded, member_id, residents["李娜"], "spouse")
        child = factories.relative(seeded, member_id, residents["张小宝"], "child")
        made = factories.order(seeded, member_id, [spouse, child], pay=True)
        assert made["status"] == "paid", made
        yield seeded


def test_signed_out_goes_to_sign_in(seeded):
    client = seeded.test_client()
    for path in ("/console/dashboard", "/console/dashboard/data.json"):
        resp = client.get(path)
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("/console/sign-in?next=/console/dashboard")


@pytest.mark.parametrize("username", ["demo-reviewer", "org-admin"])
def test_other_roles_are_refused(fast_password_hashing, seeded, username):
    password = DEMO_STAFF_PASSWORD
    if username == "org-admin":  # a charity's admin
        factories.org_admin(seeded, username)
        password = factories.STAFF_PASSWORD
    client = seeded.test_client()
    signed_in(client, username, password)
    page = client.get("/console/dashboard")
    assert page.status_code == 403 and "无权" in page.get_data(as_text=True)
    data = client.get("/console/dashboard/data.json", headers={"Accept": "application/json"})
    assert data.status_code == 403
    assert "enrollment" not in data.get_data(as_text=True)


def test_operator_page_and_data(world, residents):
    client = world.test_client()
    with time_machine.travel(NOW, tick=True):
        signed_in(client, "demo-operator")
        page = client.get("/console/dashboard")
        data = client.get("/console/dashboard/data.json")
        with world.app_context():
            expected = dashboard()
        token = factories.staff_token(world, "demo-operator")
        api = client.get("/staff/dashboard", headers=bearer(token)).get_json()
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for chart in ("daily", "participation", "area", "type", "source", "premiums", "claims"):
        assert f'id="chart-{chart}"' in html
    assert 'data-refresh-seconds="15"' in html  # DASHBOARD_REFRESH_SECONDS
    assert 'data-source="/console/dashboard/data.json"' in html
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert "/static/vendor/echarts-5.6.0/echarts.min.js" in scripts
    assert "/static/web/dashboard.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)  # no CDN
    assert "<script>" not in html  # no inline script (the CSP forbids it)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")

    assert data.status_code == 200 and data.mimetype == "application/json"
    assert data.headers["Cache-Control"] == "no-store"
    body = data.get_json()
    expected.pop("generated_at"), body.pop("generated_at"), api.pop("generated_at")
    assert body == expected == api
    assert (body["enrollment"]["today"], body["enrollment"]["total"]) == (3, 3)
    assert body["enrollment"]["by_day"][-1] == {"date": "2026-11-23", "people": 3}
    assert body["premiums"]["collected_by_source_fen"]["personal_account"] == 3 * 8900

    # No personal data in the page or the JSON: names, ID numbers, order or policy numbers.
    for text in (html, data.get_data(as_text=True)):
        for name in ("张伟", "李娜", "张小宝"):
            assert name not in text
            assert residents[name].certno not in text
        assert not re.search(r"\d{17}[\dX]", text)


def test_product_chosen_by_code(world):
    client = world.test_client()
    with time_machine.travel(NOW, tick=True):
        signed_in(client, "demo-operator")
        old = client.get("/console/dashboard/data.json?product=huhuibao-2021")
        assert old.status_code == 200
        assert old.get_json()["product"]["code"] == "huhuibao-2021"
        page = client.get("/console/dashboard?product=huhuibao-2021").get_data(as_text=True)
        assert 'data-source="/console/dashboard/data.json?product=huhuibao-2021"' in page
        assert '<option value="huhuibao-2021" selected>' in page
        missing = client.get(
            "/console/dashboard/data.json?product=no-such", headers={"Accept": "application/json"}
        )
        assert missing.status_code == 404 and missing.get_json()["code"] == "product_not_found"
        bad = client.get("/console/dashboard?product=%3Cscript%3E")
        assert bad.status_code == 422 and "<script>" not in bad.get_data(as_text=True)
        # An unknown product: the page says so (404, in Chinese), not a board that cannot load.
        unknown = client.get("/console/dashboard?product=nope")
        text = unknown.get_data(as_text=True)
        assert unknown.status_code == 404 and unknown.mimetype == "text/html"
        assert "没有代码为“nope”的产品" in text and 'id="dashboard"' not in text


def test_echarts_is_vendored_pinned_and_served(seeded):
    minified = (ECHARTS / "echarts.min.js").read_bytes()
    assert hashlib.sha256(minified).hexdigest() == ECHARTS_SHA256
    assert "Apache License" in (ECHARTS / "LICENSE").read_text()
    resp = seeded.test_client().get("/static/vendor/echarts-5.6.0/echarts.min.js")
    assert resp.status_code == 200 and resp.get_data() == minified
    resp.close()
