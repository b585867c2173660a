"""The electronic policy PDF and the certificate verification page, through HTTP.

The PDF: Chinese text extracted back (pypdf), the shipped font embedded and no other font named,
the masked names and the product's benefits, the QR link. The verification URL the QR code
encodes: HTML for browsers with a verdict per policy state (未生效 / 有效 / 已过期 / 已终止), JSON
for programs, no unmasked name or ID number and no raw \\u escapes in the page.
"""

from __future__ import annotations

import io
import re

import pytest
import time_machine
from pypdf import PdfReader

from app.identity.idnumber import mask
from tests.conftest import bearer, login, verify
from tests.enrollment.conftest import NOW, key
from tests.policies.test_certificate_http import _insure_himself, _local

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def zhang(client, seeded, residents):
    with time_machine.travel(NOW, tick=True):
        token = login(client, "pdf-zhang")["access_token"]
        assert verify(client, token, residents["张伟"]).status_code == 200
        policy = _insure_himself(client, token)
        yield token, policy


def _fonts(reader: PdfReader) -> list[dict]:
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            found.append(font.get_object())
    return found


def test_the_policy_pdf_reads_in_chinese_with_the_embedded_font(client, residents, zhang):
    token, policy = zhang
    resp = client.get(f"/policies/{policy['id']}/policy.pdf", headers=bearer(token))
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.get_data()))
    text = "".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", "", text)
    for expected in (
        "电子保险单",
        "赣州惠民保2026（示范）",
        policy["policy_no"],
        "被保险人*伟",
        "投保人*伟",
        "3607**********0119",
        "2026-11-23至2026-12-31",
        "89.00元",
        "医保政策范围内个人自付医疗费用",
        "特定高额药品费用",
        "15,000.00元",
        "75%（既往症人群50%）",
        "1,500,000.00元",
        "单个药品年度限额（每项）200,000.00元",
        "主承保：示范人寿赣州分公司（演示）60%；共保：示范财险赣州分公司（演示）40%",
        "扫码核验保单真伪",
    ):
        assert expected in flat, expected
    zhang_wei = residents["张伟"]
    assert zhang_wei.certno not in text and zhang_wei.name not in text
    assert mask(zhang_wei.certno) in text
    fonts = _fonts(reader)
    assert len(fonts) == 1
    [font] = fonts
    assert font["/Subtype"] == "/TrueType"
    assert str(font["/BaseFont"]).endswith("+WenQuanYiMicroHei")  # a subset, embedded
    assert "/FontFile2" in font["/FontDescriptor"]
    # The QR link is printed too, and it is the certificate's verification link.
    data = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(token)).get_json()
    assert data["verify_url"].split("?")[0] in flat


def test_the_pdf_is_the_members_only(client, seeded, residents, zhang):
    _token, policy = zhang
    assert client.get(f"/policies/{policy['id']}/policy.pdf").status_code == 401
    with time_machine.travel(NOW, tick=True):
        other = login(client, "pdf-other")["access_token"]
        assert verify(client, other, residents["李娜"]).status_code == 200
    resp = client.get(f"/policies/{policy['id']}/policy.pdf", headers=bearer(other))
    assert resp.status_code == 404


def _verdict(resp) -> str:
    html = resp.get_data(as_text=True)
    match = re.search(r'data-verdict="([a-z_]+)">([^<]+)<', html)
    assert match, html
    return match.group(2)


def test_the_verification_url_negotiates_and_gives_each_verdict(client, residents, zhang):
    token, policy = zhang
    data = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(token)).get_json()
    url = _local(data["verify_url"])
    zhang_wei = residents["张伟"]

    page = client.get(url, headers=HTML)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Vary"] == "Accept"
    html = page.get_data(as_text=True)
    assert _verdict(page) == "有效"  # the 2026 terms cover from the day of payment
    assert "*伟" in html and "赣州惠民保 2026（示范）" in html
    assert "2026-11-23 至 2026-12-31" in html
    assert "\\u" not in html
    assert zhang_wei.name not in html and zhang_wei.certno not in html
    assert mask(zhang_wei.certno) not in html  # the page shows no ID number at all

    as_json = client.get(url, headers=JSON)
    assert as_json.mimetype == "application/json"
    assert as_json.get_json()["verdict"] == "in_force"
    with time_machine.travel("2026-11-22T12:00:00+08:00"):
        assert _verdict(client.get(url, headers=HTML)) == "未生效"
        assert client.get(url, headers=JSON).get_json()["verdict"] == "not_yet_effective"
    assert client.get(url).mimetype == "application/json"  # no preference: JSON
    assert client.get(url, headers={"Accept": "*/*"}).mimetype == "application/json"

    with time_machine.travel("2026-12-31T23:59:00+08:00"):
        assert _verdict(client.get(url, headers=HTML)) == "有效"
        assert client.get(url, headers=JSON).get_json()["valid"] is True
    with time_machine.travel("2027-01-01T00:00:00+08:00"):
        assert _verdict(client.get(url, headers=HTML)) == "已过期"
        assert client.get(url, headers=JSON).get_json()["valid"] is False

    surrendered = client.post(
        f"/policies/{policy['id']}/surrender", headers={**bearer(token), **key()}
    )
    assert surrendered.status_code == 200, surrendered.get_json()
    for moment in ("2026-11-23T12:00:00+08:00", "2026-12-01T12:00:00+08:00"):
        with time_machine.travel(moment):
            assert _verdict(client.get(url, headers=HTML)) == "已终止"
            body = client.get(url, headers=JSON).get_json()
            assert (body["valid"], body["verdict"], body["status"]) == (
                False,
                "terminated",
                "void",
            )


def test_a_forged_link_shows_a_cannot_verify_page(client, zhang):
    token, policy = zhang
    data = client.get(f"/policies/{policy['id']}/certificate", headers=bearer(token)).get_json()
    url = _local(data["verify_url"])
    forged = url[:-1] + ("A" if url[-1] != "A" else "B")
    page = client.get(forged, headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "无法核验" in html
    assert policy["policy_no"] not in html and "*伟" not in html
    problem = client.get(forged, headers=JSON)
    assert problem.status_code == 404 and problem.get_json()["code"] == "certificate_invalid"


@pytest.mark.parametrize("query", ["", "?token=", "?token=" + "A" * 201])
def test_a_damaged_code_shows_the_cannot_verify_page_not_json(client, query):
    """A phone that scanned a damaged or cut-off code gets the page; a program still gets a 422
    naming the token."""
    page = client.get(f"/public/certificates/verify{query}", headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "无法核验" in page.get_data(as_text=True)
    problem = client.get(f"/public/certificates/verify{query}", headers=JSON)
    assert problem.status_code == 422
    body = problem.get_json()
    assert body["code"] == "validation_failed" and "token" in body["errors"]["query"]
