"""The invitation link a campaign's QR code encodes, opened by a phone's browser: a Chinese page
(not JSON with \\uXXXX escapes) with the campaign, its sponsor, the places left (the same number
the JSON gives) and what to do next, while a program (Accept: application/json, or no
preference: the mini-program) still gets JSON. A link that cannot be used is a page saying why,
with the refusal's own status. Content negotiation, as the certificate's verification link."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from tests.campaigns.conftest import local, token_of
from tests.conftest import bearer
from tests.security.support import assert_problem

# What Chromium on a phone sends when it opens a scanned link.
BROWSER = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
}
PATH = "/public/campaigns/preview"


def _text(resp) -> str:
    """The page's visible text, tags dropped, white space folded."""
    body = resp.get_data(as_text=True)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_a_browser_gets_a_page_and_a_program_json(campaigns, client):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(
        admin, programme["id"], quota=5, eligibility={"min_age": 18, "max_age": 70}
    )
    campaigns.redeem(campaigns.resident("刘强"), token_of(campaign["link"]))
    link = local(campaign["link"])

    api = client.get(link, headers={"Accept": "application/json"})
    assert api.status_code == 200 and api.mimetype == "application/json"
    assert api.headers["Vary"] == "Accept"
    body = api.get_json()
    assert body["places_left"] == 4
    assert client.get(link).get_json() == body  # no Accept header: JSON (the mini-program)

    page = client.get(link, headers=BROWSER)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Vary"] == "Accept"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "\\u" not in page.get_data(as_text=True)
    text = _text(page)
    assert "扫码领取惠民保" in text  # the campaign
    assert "资助机构 赣州市慈善总会" in text  # the sponsor
    assert "由赣州市慈善总会全额资助保费，本人无需付费" in text
    assert f"剩余名额 {body['places_left']} 人" in text
    assert "保险产品 赣州惠民保 2026（示范）" in text
    assert "每人最高 89.00 元" in text
    assert "2026年1月1日 至 2026年12月31日" in text
    assert "领取截止 2026年12月31日" in text
    assert "年龄18至70岁" in text
    assert "惠民保小程序" in text and "医保身份核验" in text  # what to do next
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        page.get_data(as_text=True)
    )


def test_the_page_follows_the_places_the_budget_leaves(campaigns, client):
    """Places left on the page are the JSON's: capped by what the programme can still pay."""
    admin, programme = campaigns.charity(budget_fen=2 * 8900)
    campaign = campaigns.campaign(admin, programme["id"], quota=2)
    campaigns.redeem(campaigns.resident("刘强"), token_of(campaign["link"]))
    other = campaigns.campaign(admin, programme["id"], quota=1, name="第二个邀请")
    assert client.get(local(other["link"])).get_json()["places_left"] == 1
    assert "剩余名额 1 人" in _text(client.get(local(other["link"]), headers=BROWSER))


@pytest.mark.parametrize(
    ("setup", "status", "code", "title", "words"),
    [
        ("forged", 404, "campaign_link_invalid", "无法识别", "二维码无效"),
        ("revoked", 410, "campaign_revoked", "邀请已失效", "撤销"),
        ("exhausted", 409, "campaign_exhausted", "暂时无法领取", "名额已领完"),
        ("paused", 409, "campaign_programme_paused", "暂时无法领取", "暂停"),
    ],
)
def test_a_link_that_cannot_be_used_is_a_page_saying_why(
    campaigns, client, setup, status, code, title, words
):
    admin, programme = campaigns.charity()
    campaign = campaigns.campaign(admin, programme["id"], quota=1)
    token = token_of(campaign["link"])
    if setup == "forged":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif setup == "revoked":
        client.post(f"/staff/campaigns/{campaign['id']}/revoke", headers=bearer(admin))
    elif setup == "exhausted":
        assert campaigns.redeem(campaigns.resident("刘强"), token).status_code == 201
    else:
        client.post(
            f"/staff/programmes/{programme['id']}/status",
            headers=bearer(admin),
            json={"action": "pause"},
        )
    assert_problem(client.get(PATH, query_string={"token": token}), status, code)
    page = client.get(PATH, query_string={"token": token}, headers=BROWSER)
    assert page.status_code == status and page.mimetype == "text/html"
    assert f'data-verdict="{code}"' in page.get_data(as_text=True)
    text = _text(page)
    assert title in text and words in text
    if setup == "forged":  # nothing of the campaign is shown for a token that is not ours
        assert "扫码领取惠民保" not in text and "赣州市慈善总会" not in text


def test_a_link_without_its_token(client):
    """A program gets the 422 the schema gave; a phone, the invitation-not-recognised page."""
    for query in ({}, {"token": ""}, {"token": "x" * 201}):
        resp = client.get(PATH, query_string=query)
        assert_problem(resp, 422, "validation_failed")
        assert resp.get_json()["errors"]["query"]["token"]
        page = client.get(PATH, query_string=query, headers=BROWSER)
        assert page.status_code == 404 and page.mimetype == "text/html"
        assert "无法识别" in _text(page)
