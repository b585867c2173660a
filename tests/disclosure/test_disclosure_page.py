"""The public disclosure page (/disclosure): the same figures as GET /public/statistics (the
page embeds the service's answer, dumped with the API's schema), suppression kept, the charts'
script and ECharts served locally, nothing personal in the HTML."""

from __future__ import annotations

import json
import re

from tests.disclosure.conftest import Scenario
from tests.security.support import person_secrets

PEOPLE = ("张伟", "李娜", "张小宝", "刘强", "陈静", "孙丽")


def _embedded(html: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html)
    assert match, element_id
    return json.loads(match.group(1))


def test_the_page_shows_the_api_figures_with_suppression_kept(scenario):
    scenario.run()
    page = scenario.client.get("/disclosure", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    api = scenario.client.get("/public/statistics").get_json()
    assert _embedded(html, "stats-data") == api
    ganzhou = next(p for p in api["products"] if p["product_code"] == "ganzhou-demo-2026")
    assert ganzhou["year"]["enrolled_people"]["suppressed"] is True  # 5 people, under 10
    assert "人数少于 10 的单元格" in html and "不公布" in html
    assert "赣州惠民保 2026（示范）" in html and "沪惠保 2021" in html
    # Local assets only: the vendored ECharts and the page script, no CDN.
    assert "/static/vendor/echarts-5.6.0/echarts.min.js" in html
    assert 'data-api="/public/statistics"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for name in PEOPLE:
        for secret in person_secrets(scenario.residents[name]):
            assert secret not in html


def test_the_unsuppressed_page_embeds_the_same_numbers(
    fast_password_hashing, app_factory, residents
):
    from tests.conftest import seed_app

    app = seed_app(app_factory(DISCLOSURE_MIN_CELL=1))
    client = app.test_client()
    Scenario(app, client, residents).run()
    html = client.get("/disclosure?product=ganzhou-demo-2026").get_data(as_text=True)
    api = client.get("/public/statistics?product=ganzhou-demo-2026").get_json()
    embedded = _embedded(html, "stats-data")
    assert embedded == api
    assert embedded["products"][0]["year"]["enrolled_people"] == {"value": 5, "suppressed": False}
    assert 'data-api="/public/statistics?product=ganzhou-demo-2026"' in html


def test_assets_are_served_locally(client):
    echarts = client.get("/static/vendor/echarts-5.6.0/echarts.min.js")
    assert echarts.status_code == 200 and b"echarts" in echarts.get_data()[:2000]
    assert client.get("/static/vendor/echarts-5.6.0/LICENSE").status_code == 200
    assert client.get("/static/web/public.js").status_code == 200
    assert client.get("/static/web/public.css").status_code == 200


def test_a_bad_query_is_a_clear_400_page(seeded, client):
    resp = client.get("/disclosure?product=NOT%20A%20CODE")
    assert resp.status_code == 400
    assert "查询条件不正确" in resp.get_data(as_text=True)
    missing = client.get("/disclosure?product=no-such-product")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
