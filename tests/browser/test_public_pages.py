"""The public pages in a phone-sized Chromium: the disclosure page's charts hold the API's
figures (and refresh without a reload), suppressed cells read "不公布", and the certificate page
opens from the URL decoded out of a real certificate PNG's QR code.

Set HUIMIN_SCREENSHOTS=<dir> to keep the screenshots these tests take."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
import zxingcpp
from PIL import Image

from app.disclosure.metrics import FUNDING_SOURCES
from tests.conftest import bearer, login, verify
from tests.disclosure.conftest import FEBRUARY, Scenario
from tests.enrollment.conftest import NOW, pay, place_order
from tests.security.conftest import fast_password_hashing  # noqa: F401  (fixture)

PHONE = {"width": 390, "height": 844}
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def min_cell() -> int:
    return 1


@pytest.fixture
def app(app_factory, min_cell):
    """The live server's app, publishing cells from `min_cell` people."""
    return app_factory(DISCLOSURE_MIN_CELL=min_cell)


@pytest.fixture
def phone(chromium, page):
    """A phone-sized page (a new context: a phone's user agent, touch, device scale)."""
    context = chromium.new_context(
        locale="zh-CN", viewport=PHONE, user_agent=IPHONE_UA, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("HUIMIN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _chart_data(page, chart_id: str) -> list:
    return page.evaluate(
        "id => window.huiminDisclosure.chart(id).getOption().series[0].data"
        ".map(d => (d !== null && typeof d === 'object') ? [d.name, d.value] : d)",
        chart_id,
    )


def _expected(product: dict) -> dict:
    def value(cell, divide=1):
        return None if cell["suppressed"] or cell["value"] is None else cell["value"] / divide

    year = product["year"]
    return {
        "chart-monthly": [value(m["enrolled_people"]) for m in product["months"]],
        "chart-paid": [value(m["amount_paid_fen"], 100) for m in product["months"]],
        "chart-sources": [
            c["value"]
            for c in (year["enrolled_by_funding_source"][k] for k in FUNDING_SOURCES)
            if not c["suppressed"] and c["value"]
        ],
        "chart-insurance": sorted(
            [label, c["value"]]
            for key, label in (("employee", "职工医保"), ("resident", "城乡居民医保"))
            for c in [year["enrolled_by_insurance_type"][key]]
            if not c["suppressed"] and c["value"]
        ),
    }


def test_disclosure_charts_hold_the_api_figures_on_a_phone(
    fast_password_hashing, phone, live_server, residents
):
    app = live_server.app
    client = app.test_client()
    scenario = Scenario(app, client, residents)
    scenario.run()
    url = f"{live_server.url}/disclosure?product=ganzhou-demo-2026"
    phone.goto(url)
    phone.wait_for_function("() => window.huiminDisclosure !== undefined")
    api = client.get("/public/statistics?product=ganzhou-demo-2026").get_json()
    [product] = api["products"]
    expected = _expected(product)
    assert product["year"]["enrolled_people"]["value"] == 5
    assert _chart_data(phone, "chart-monthly") == expected["chart-monthly"]
    assert _chart_data(phone, "chart-paid") == expected["chart-paid"]
    # personal account 3, WeChat 1, relief fund 1 (the scenario's payers), in FUNDING_SOURCES order.
    assert _chart_data(phone, "chart-sources") == expected["chart-sources"] == [3, 1, 1]
    assert phone.evaluate(
        "window.huiminDisclosure.chart('chart-sources').getOption().yAxis[0].data"
    ) == ["医保个人账户", "微信支付", "救助资金"]
    assert sorted(_chart_data(phone, "chart-insurance")) == expected["chart-insurance"]
    card = phone.locator('[data-figure="enrolled_people"] .card-value')
    assert card.inner_text() == "5 人"
    premiums = phone.locator('[data-figure="premiums_collected_fen"] .card-value').inner_text()
    collected = product["year"]["premiums_collected_fen"]["value"]
    assert premiums.replace(",", "") == f"{collected // 100}.{collected % 100:02d} 元"
    # Phone layout: two cards a row, charts one under the other, nothing wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    boxes = [phone.locator(f"#{i}").bounding_box() for i in ("chart-monthly", "chart-insurance")]
    assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1
    _screenshot(phone, "disclosure-phone")

    # New figures arrive without a reload: one more person enrolls in February.
    phone.evaluate("window.notReloaded = true")
    with time_machine.travel(FEBRUARY, tick=True):
        scenario.enroll_paid(scenario.member("browser-zhou", "周军"), method="wechat")
    phone.evaluate("window.huiminDisclosure.refresh()")
    phone.wait_for_function(
        "() => document.querySelector('[data-figure=\"enrolled_people\"] .card-value')"
        ".textContent === '6 人'"
    )
    assert phone.evaluate("window.notReloaded") is True
    fresh = client.get("/public/statistics?product=ganzhou-demo-2026").get_json()["products"][0]
    assert _chart_data(phone, "chart-monthly") == _expected(fresh)["chart-monthly"]


@pytest.mark.parametrize("min_cell", [10])
def test_suppressed_figures_read_not_published(fast_password_hashing, page, live_server, residents):
    app = live_server.app
    Scenario(app, app.test_client(), residents).run()
    page.goto(f"{live_server.url}/disclosure?product=ganzhou-demo-2026")
    page.wait_for_function("() => window.huiminDisclosure !== undefined")
    for figure in ("enrolled_people", "premiums_collected_fen", "participation_rate"):
        card = page.locator(f'[data-figure="{figure}"]')
        assert card.locator(".card-value").inner_text() == "不公布"
        assert "suppressed" in card.get_attribute("class")
    # The months' small enrolments are hidden too: no bar gives them away (zeros are published).
    api = app.test_client().get("/public/statistics?product=ganzhou-demo-2026").get_json()
    monthly = _chart_data(page, "chart-monthly")
    assert monthly == _expected(api["products"][0])["chart-monthly"]
    assert None in monthly and all(v in (None, 0) for v in monthly)
    assert "不公布的分项" in page.locator("#suppressed-note").inner_text()
    # every funding source withheld: the note alone, no empty axes drawn under it
    axes = page.evaluate(
        "() => { const o = window.huiminDisclosure.chart('chart-sources').getOption();"
        " return [o.xAxis[0].show, o.yAxis[0].show, o.series[0].data.length]; }"
    )
    assert axes == [False, False, 0]
    _screenshot(page, "disclosure-desktop-suppressed")


def test_a_certificate_scan_opens_its_verification_page_on_a_phone(phone, live_server, residents):
    app = live_server.app
    client = app.test_client()
    with time_machine.travel(NOW, tick=True):
        token = login(client, "browser-cert")["access_token"]
        assert verify(client, token, residents["张伟"]).status_code == 200
        order = place_order(client, {"token": token}, [], include_self=True)
        assert pay(client, {"token": token}, order["id"]).status_code == 200
        [policy] = client.get("/policies", headers=bearer(token)).get_json()
        png = client.get(f"/policies/{policy['id']}/certificate.png", headers=bearer(token))
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_data())))
    scanned = urlsplit(code.text)
    assert scanned.path == "/public/certificates/verify"
    # The QR names the configured public host; the phone reaches the same path on this server.
    with time_machine.travel("2026-12-01T10:00:00+08:00", tick=True):
        phone.goto(f"{live_server.url}{scanned.path}?{scanned.query}")
        verdict = phone.locator("[data-verdict]")
        assert verdict.get_attribute("data-verdict") == "in_force"
        assert verdict.inner_text() == "有效"
        assert phone.locator('[data-field="insured"]').inner_text() == "*伟"
        assert phone.locator('[data-field="product"]').inner_text() == "赣州惠民保 2026（示范）"
        period = phone.locator('[data-field="period"]').inner_text()
        assert period == f"{policy['coverage_start']} 至 {policy['coverage_end']}"
        html = phone.content()
        assert residents["张伟"].name not in html and residents["张伟"].certno not in html
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _screenshot(phone, "certificate-verify-phone")


NARROW_PHONE = {"width": 375, "height": 812}


def _charity_campaign(app, client, **fields):
    """The demo charity's staff token and its answer to creating a campaign of its programme
    (expiring 2026-12-31) with `fields`."""
    from app.demo.charity import seed_charity
    from app.demo.seed import DEMO_STAFF_PASSWORD
    from tests import factories

    with app.app_context():
        programme_id = seed_charity(DEMO_STAFF_PASSWORD)["charity_programme_id"]
    admin = factories.staff_token(app, "demo-charity")
    made = client.post(
        "/staff/campaigns",
        headers=bearer(admin),
        json={"programme_id": programme_id, "expires_on": "2026-12-31", **fields},
    )
    return admin, made


def test_a_campaign_poster_scan_opens_the_invitation_page_on_a_phone(chromium, live_server):
    """A charity's campaign QR code, decoded from its PNG, opened by a 375 px phone browser:
    the invitation page (not JSON) with the campaign, the sponsor, the places left (one taken
    of three) and the next steps, nothing wider than the screen."""
    import uuid

    from app.demo.charity import CHARITY_NAME
    from tests.campaigns.conftest import token_of
    from tests.enrollment.conftest import terms_version

    app = live_server.app
    client = app.test_client()
    with time_machine.travel(NOW, tick=True):
        admin, made = _charity_campaign(
            app,
            client,
            name="困难群众扫码参保",
            quota=3,
            eligibility={"categories": ["dibao", "tekun"]},
        )
        assert made.status_code == 201, made.get_json()
        campaign = made.get_json()
        png = client.get(campaign["qr_png_url"], headers=bearer(admin))
        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_data())))
        member = login(client, "browser-scan")["access_token"]
        from app.demo.residents import generate

        dibao = next(
            r
            for r in generate(240)
            if "2301" in r.idet_types
            and r.psn_insu_stas == "1"
            and r.insuplc_admdvs.startswith("3607")
        )
        assert verify(client, member, dibao).status_code == 200
        redeemed = client.post(
            "/me/campaign-redemptions",
            headers={**bearer(member), "Idempotency-Key": uuid.uuid4().hex},
            json={
                "token": token_of(code.text),
                "terms": {"version": terms_version(client), "accepted": True},
            },
        )
        assert redeemed.status_code == 201, redeemed.get_json()

        scanned = urlsplit(code.text)
        assert scanned.path == "/public/campaigns/preview"
        context = chromium.new_context(
            locale="zh-CN",
            viewport=NARROW_PHONE,
            user_agent=IPHONE_UA,
            is_mobile=True,
            has_touch=True,
        )
        phone = context.new_page()
        try:
            phone.goto(f"{live_server.url}{scanned.path}?{scanned.query}")
            assert phone.locator('[data-field="campaign"]').inner_text() == "困难群众扫码参保"
            assert phone.locator('[data-field="organisation"]').inner_text() == CHARITY_NAME
            assert (
                phone.locator('[data-field="places-left"]').inner_text()
                == "剩余名额 2 人，先到先得"
            )
            eligibility = phone.locator('[data-field="eligibility"]').inner_text()
            assert "低保对象" in eligibility and "特困人员" in eligibility
            steps = phone.locator('[data-field="next-steps"] li')
            assert steps.count() == 3 and "惠民保小程序" in steps.nth(0).inner_text()
            assert phone.evaluate("document.documentElement.scrollWidth") <= NARROW_PHONE["width"]
            # the title block and the steps fit the width; the text is Chinese, not escapes
            box = phone.locator(".invite").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW_PHONE["width"]
            assert "\\u" not in phone.content()
            _screenshot(phone, "campaign-invite-phone")
        finally:
            context.close()


def test_a_revoked_invitation_says_why_on_a_phone(chromium, live_server):
    """A revoked campaign's printed QR code: the page says the invitation is gone and why, with
    the 410, at 375 px."""

    app = live_server.app
    client = app.test_client()
    with time_machine.travel(NOW, tick=True):
        admin, made = _charity_campaign(app, client, name="撤销的邀请", quota=1)
        campaign = made.get_json()
        client.post(f"/staff/campaigns/{campaign['id']}/revoke", headers=bearer(admin))
        scanned = urlsplit(campaign["link"])
        context = chromium.new_context(
            locale="zh-CN", viewport=NARROW_PHONE, user_agent=IPHONE_UA, is_mobile=True
        )
        phone = context.new_page()
        try:
            answer = phone.goto(f"{live_server.url}{scanned.path}?{scanned.query}")
            assert answer.status == 410
            verdict = phone.locator("[data-verdict]")
            assert verdict.get_attribute("data-verdict") == "campaign_revoked"
            assert verdict.inner_text() == "邀请已失效"
            assert "撤销" in phone.locator('[data-field="reason"]').inner_text()
            assert phone.evaluate("document.documentElement.scrollWidth") <= NARROW_PHONE["width"]
            _screenshot(phone, "campaign-invite-revoked-phone")
        finally:
            context.close()
