"""The sponsor console through HTTP, signed in through the console's sign-in form: the pages
show what the API shows the same admin (budget figures from the same report), every page and
download of another organisation's object is a 404, state changes need the CSRF token, the
XLSX downloads read back with openpyxl, the PDFs' text is extracted, and no page carries an
unmasked ID number."""

from __future__ import annotations

import io
import re

import openpyxl
import pypdf
import pytest
import zxingcpp
from PIL import Image

from app.identity.idnumber import mask
from tests.campaigns.conftest import PREMIUM
from tests.conftest import bearer
from tests.enrollment.conftest import terms_version
from tests.factories import STAFF_PASSWORD
from tests.jobs.support import eligible, roster_csv
from tests.web.support import signed_in
from tests.web_sponsor.conftest import PEOPLE

JSON = {"Accept": "application/json"}


def sign_in_as(client, fixture) -> str:
    return signed_in(client, fixture["username"], STAFF_PASSWORD)


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "")


def _sheet(data: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _entry_id(client, admin: str) -> int:
    resp = client.get("/staff/reports/donations", headers=bearer(admin))
    [item] = resp.get_json()["items"]
    return item["entry_id"]


def _upload(client, csrf: str, programme_id: int, data: bytes, filename="roster.csv", **extra):
    return client.post(
        f"/console/sponsor/programmes/{programme_id}/roster",
        data={"file": (io.BytesIO(data), filename), **extra},
        headers={"X-CSRF-Token": csrf, **JSON},
        content_type="multipart/form-data",
    )


# --- who may see the console -----------------------------------------------------------------


def test_sponsor_pages_need_a_signed_in_admin(client):
    resp = client.get("/console/sponsor/")
    assert resp.status_code == 302
    assert "/console/sign-in" in resp.headers["Location"]


def test_an_operator_is_not_a_sponsor_admin(client, seeded):
    signed_in(client, "demo-operator")
    resp = client.get("/console/sponsor/")
    assert resp.status_code == 403
    assert "无权" in resp.get_data(as_text=True)


# --- programmes and the budget gauge --------------------------------------------------------


def test_programmes_page_shows_the_reports_figures(client, charity):
    sign_in_as(client, charity)
    summary = client.get("/staff/reports/summary", headers=bearer(charity["admin"])).get_json()
    [row] = summary["programmes"]
    assert (row["budget_total_fen"], row["spent_fen"]) == (10 * PREMIUM, 3 * PREMIUM)
    html = client.get("/console/sponsor/").get_data(as_text=True)
    assert "慈善助保" in html
    # The gauge: 890.00 budget, 267.00 spent, nothing reserved unpaid, 623.00 free.
    for figure, value in (
        ("total", "¥890.00"),
        ("spent", "¥267.00"),
        ("reserved", "¥0.00"),
        ("free", "¥623.00"),
    ):
        assert f'data-figure="{figure}">{value}<' in html, figure
    assert 'style="width: 30.0%"' in html  # the spent share of the bar


def test_programme_page_gauge_matches_the_api_report(client, charity):
    sign_in_as(client, charity)
    pid = charity["programme"]["id"]
    report = client.get(f"/staff/programmes/{pid}/report", headers=bearer(charity["admin"]))
    body = report.get_json()
    html = client.get(f"/console/sponsor/programmes/{pid}").get_data(as_text=True)
    assert f'data-figure="spent">¥{body["spent_fen"] // 100:,}.00<' in html
    assert f'data-figure="total">¥{body["budget_total_fen"] // 100:,}.00<' in html
    assert "扫码领取惠民保" in html  # its campaign


# --- scoping: another organisation's objects are 404, on every page and download ------------


def test_every_sponsor_page_of_another_organisation_is_not_found(client, charity, employer):
    pid = charity["programme"]["id"]
    campaign_id = charity["campaign"]["id"]
    entry_id = _entry_id(client, charity["admin"])
    csrf = sign_in_as(client, charity)
    up = _upload(client, csrf, pid, roster_csv(eligible(1, skip=30)))
    assert up.status_code == 201, up.get_data(as_text=True)
    upload_id = up.get_json()["id"]
    client.post("/console/sign-out", data={"csrf_token": csrf})

    # Every sponsor page route that names an object, with the charity's objects in it.
    concrete = {
        "/console/sponsor/programmes/<int:programme_id>": f"/programmes/{pid}",
        "/console/sponsor/programmes/<int:programme_id>/uploads/<int:upload_id>/report.xlsx": (
            f"/programmes/{pid}/uploads/{upload_id}/report.xlsx"
        ),
        "/console/sponsor/programmes/<int:programme_id>/jobs/<int:job_id>/status.json": (
            f"/programmes/{pid}/jobs/1/status.json"
        ),
        "/console/sponsor/programmes/<int:programme_id>/jobs/latest.json": (
            f"/programmes/{pid}/jobs/latest.json"
        ),
        "/console/sponsor/programmes/<int:programme_id>/jobs/<int:job_id>/rows.xlsx": (
            f"/programmes/{pid}/jobs/1/rows.xlsx"
        ),
        "/console/sponsor/campaigns/<int:campaign_id>/poster.png": f"/campaigns/{campaign_id}/poster.png",
        "/console/sponsor/campaigns/<int:campaign_id>/poster.pdf": f"/campaigns/{campaign_id}/poster.pdf",
        "/console/sponsor/donations/<int:entry_id>/receipt.pdf": f"/donations/{entry_id}/receipt.pdf",
        "/console/sponsor/programmes/<int:programme_id>/roster": f"/programmes/{pid}/roster",
        "/console/sponsor/programmes/<int:programme_id>/jobs": f"/programmes/{pid}/jobs",
    }
    routes = {
        rule.rule
        for rule in client.application.url_map.iter_rules()
        if rule.endpoint.startswith("sponsor.") and "<" in rule.rule
    }
    assert routes == set(concrete), "a sponsor page route is missing from this sweep"

    csrf = sign_in_as(client, employer)
    for rule, path in concrete.items():
        url = "/console/sponsor" + path
        if rule.endswith(("/roster", "/jobs")):
            data = {"file": (io.BytesIO(b"x"), "r.csv"), "terms_accepted": "yes"}
            resp = client.post(url, data={**data, "csrf_token": csrf}, headers=JSON)
        else:
            resp = client.get(url)
        assert resp.status_code == 404, url
    resp = client.get(f"/console/sponsor/covered.xlsx?programme_id={pid}")
    assert resp.status_code == 404
    # Its own lists do not name the charity's programme or campaign.
    for path in ("/console/sponsor/", "/console/sponsor/campaigns", "/console/sponsor/donations"):
        html = client.get(path).get_data(as_text=True)
        assert "慈善助保" not in html and "扫码领取惠民保" not in html, path


# --- CSRF ------------------------------------------------------------------------------------


def test_roster_upload_needs_the_csrf_token(client, employer):
    csrf = sign_in_as(client, employer)
    pid = employer["programme"]["id"]
    data = roster_csv(eligible(1))
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        resp = client.post(
            f"/console/sponsor/programmes/{pid}/roster",
            data={"file": (io.BytesIO(data), "roster.csv")},
            headers={**headers, **JSON},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 403, headers
        assert resp.get_json()["code"] == "web_csrf_invalid"
    summary = client.get(f"/staff/programmes/{pid}/roster", headers=bearer(employer["admin"]))
    assert summary.get_json()["entries"] == 0  # nothing was listed
    assert _upload(client, csrf, pid, data).status_code == 201


def test_campaign_create_needs_the_csrf_token(client, charity):
    sign_in_as(client, charity)
    resp = client.post(
        "/console/sponsor/campaigns",
        data={"programme_id": charity["programme"]["id"], "name": "x", "quota": "3"},
    )
    assert resp.status_code == 403


# --- roster upload, batch enrollment with its progress, the per-row reports ------------------


def test_upload_then_enroll_with_progress_and_reports(client, employer):
    csrf = sign_in_as(client, employer)
    pid = employer["programme"]["id"]
    people = eligible(3)
    up = _upload(client, csrf, pid, roster_csv(people, "王五,110101199001011234,"))
    assert up.status_code == 201, up.get_data(as_text=True)
    upload = up.get_json()
    assert (upload["rows_total"], upload["added"], upload["rows_invalid"]) == (4, 3, 1)

    rows = _sheet(client.get(upload["report_xlsx_url"]).data)
    assert rows[0] == ["行号", "姓名", "身份证号", "类别", "结果", "代码", "说明"]
    assert [r[4] for r in rows[1:]] == ["已加入"] * 3 + ["未通过校验"]
    assert rows[1][2] == mask(people[0].certno)

    latest = client.get(f"/console/sponsor/programmes/{pid}/jobs/latest.json")
    assert latest.get_json() == {"job": None}
    started = client.post(
        f"/console/sponsor/programmes/{pid}/jobs",
        data={"terms_version": terms_version(client), "terms_accepted": "yes"},
        headers={"X-CSRF-Token": csrf, **JSON},
    )
    assert started.status_code == 202, started.get_data(as_text=True)
    job = started.get_json()
    status = client.get(job["status_url"])
    assert status.headers["Cache-Control"] == "no-store"
    body = status.get_json()
    assert body["finished"] is True and body["status"] == "succeeded"
    assert (body["total"], body["done"], body["failed"], body["percent"]) == (3, 3, 0, 100.0)
    assert body["status_label"] == "已完成"
    latest = client.get(f"/console/sponsor/programmes/{pid}/jobs/latest.json").get_json()
    assert latest["job"] == body

    outcome = _sheet(client.get(job["rows_xlsx_url"]).data)
    assert outcome[0][:4] == ["行号", "姓名", "身份证号", "结果"]
    assert [r[3] for r in outcome[1:]] == ["已投保"] * 3
    assert {r[2] for r in outcome[1:]} == {mask(p.certno) for p in people}

    html = client.get(f"/console/sponsor/programmes/{pid}").get_data(as_text=True)
    assert 'data-figure="insured">3<' in html
    assert "<td>2026-11-23 10:" in html  # the upload and the job, in Beijing time
    for person in people:
        assert person.certno not in html


def test_enrollment_without_accepting_the_terms_is_refused(client, employer):
    csrf = sign_in_as(client, employer)
    pid = employer["programme"]["id"]
    assert _upload(client, csrf, pid, roster_csv(eligible(1))).status_code == 201
    resp = client.post(
        f"/console/sponsor/programmes/{pid}/jobs",
        data={"terms_version": terms_version(client)},
        headers={"X-CSRF-Token": csrf, **JSON},
    )
    assert resp.status_code == 422
    assert resp.get_json()["detail"]
    # the form posted without JavaScript: its own page again, the refusal said above it
    page = client.post(
        f"/console/sponsor/programmes/{pid}/jobs",
        data={"terms_version": terms_version(client), "csrf_token": csrf},
    )
    assert page.status_code == 422 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'class="notice error" role="alert"' in html and "条款" in html
    assert 'id="job-form"' in html  # the page, not a bare error page


def test_a_bad_roster_file_is_a_chinese_422(client, employer):
    csrf = sign_in_as(client, employer)
    resp = _upload(client, csrf, employer["programme"]["id"], b"\xd0\xcf\x11\xe0old", "a.xls")
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "roster_format_xls"
    assert ".xls" in resp.get_json()["detail"]


def test_plain_form_upload_redirects_to_the_programme(client, employer):
    csrf = sign_in_as(client, employer)
    pid = employer["programme"]["id"]
    resp = client.post(
        f"/console/sponsor/programmes/{pid}/roster",
        data={"file": (io.BytesIO(roster_csv(eligible(2))), "r.csv"), "csrf_token": csrf},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    assert re.search(rf"/console/sponsor/programmes/{pid}\?upload=\d+$", resp.headers["Location"])


# --- who got covered -------------------------------------------------------------------------


def test_covered_xlsx_over_http(client, charity, residents):
    sign_in_as(client, charity)
    resp = client.get("/console/sponsor/covered.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = _sheet(resp.data)
    assert rows[0][:3] == ["序号", "姓名", "身份证号"]
    assert sorted(r[2] for r in rows[1:]) == sorted(mask(residents[n].certno) for n in PEOPLE)
    assert all(r[7] == "慈善助保" and r[4] == "有效" for r in rows[1:])
    # Masking decrypted every ID number: the download is audited, once, with its row count.
    from sqlalchemy import select

    from app.audit.models import AuditEvent
    from app.database import get_session

    with client.application.app_context():
        [event] = (
            get_session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "sponsor.covered_exported"))
            .all()
        )
    assert event.detail["rows"] == len(PEOPLE)


YEAR = "年度应为 2020 到 2100 之间的年份"
PROGRAMME = "资助项目编号不正确"


@pytest.mark.parametrize(
    "path, message",
    [
        ("/console/sponsor/donations?year=99999999999", YEAR),  # OverflowError: was a 500
        ("/console/sponsor/donations?year=10000", YEAR),  # year out of range: was a 500
        ("/console/sponsor/donations?year=0", YEAR),
        ("/console/sponsor/donations?year=abc", YEAR),  # was ignored: every year shown
        ("/console/sponsor/donations?year=%C2%B2", YEAR),  # '²'.isdigit(), int() refuses it
        ("/console/sponsor/donations?year=" + "9" * 5000, YEAR),  # too long for int()
        ("/console/sponsor/covered.xlsx?plan_year=99999999999999999999", YEAR),  # a 500
        ("/console/sponsor/covered.xlsx?programme_id=99999999999999999999", PROGRAMME),
        ("/console/sponsor/covered.xlsx?programme_id=abc", PROGRAMME),  # was every programme
    ],
)
def test_a_filter_out_of_range_is_a_chinese_422_not_a_500(client, charity, path, message):
    sign_in_as(client, charity)
    resp = client.get(path)
    assert resp.status_code == 422 and resp.mimetype == "text/html"
    assert message in resp.get_data(as_text=True)


def test_donations_filtered_by_a_year(client, charity):
    sign_in_as(client, charity)
    entry_id = _entry_id(client, charity["admin"])
    assert f"HMB-JZ-20261123-{entry_id:08d}" in client.get(
        "/console/sponsor/donations?year=2026"
    ).get_data(as_text=True)
    assert f"HMB-JZ-20261123-{entry_id:08d}" not in client.get(
        "/console/sponsor/donations?year=2025"
    ).get_data(as_text=True)


# --- campaigns and posters -----------------------------------------------------------------


def test_create_a_campaign_and_print_its_poster(client, charity):
    csrf = sign_in_as(client, charity)
    resp = client.post(
        "/console/sponsor/campaigns",
        data={
            "csrf_token": csrf,
            "programme_id": str(charity["programme"]["id"]),
            "name": "低保户免费参保",
            "quota": "5",
            "expires_on": "2026-12-20",
            "categories": ["dibao", "tekun"],
            "min_age": "18",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    created = int(re.search(r"created=(\d+)", resp.headers["Location"]).group(1))
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "低保户免费参保" in html and "限低保对象、特困人员" in html

    png = client.get(f"/console/sponsor/campaigns/{created}/poster.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    api = client.get(f"/staff/campaigns/{created}", headers=bearer(charity["admin"])).get_json()
    assert code.text == api["link"]

    pdf = client.get(f"/console/sponsor/campaigns/{created}/poster.pdf")
    assert pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    for expected in (
        "低保户免费参保",
        "限低保对象、特困人员",
        "年龄18岁及以上",
        "名额5人",
        "参加步骤",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("quota", "0", "名额"),
        ("expires_on", "not-a-date", "有效期"),
        ("name", "", "活动名称"),
    ],
)
def test_a_bad_campaign_form_is_shown_again_in_chinese(client, charity, field, value, message):
    csrf = sign_in_as(client, charity)
    data = {
        "csrf_token": csrf,
        "programme_id": str(charity["programme"]["id"]),
        "name": "活动",
        "quota": "5",
        "expires_on": "2026-12-20",
        field: value,
    }
    resp = client.post("/console/sponsor/campaigns", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请修改以下内容" in html and message in html


def test_campaign_refused_by_the_service_keeps_the_form(client, charity):
    """A refusal of the service (here: an expiry before today) is said above the form, which
    keeps what the admin typed and ticked; it used to be a bare error page (the form lost)."""
    csrf = sign_in_as(client, charity)
    resp = client.post(
        "/console/sponsor/campaigns",
        data={
            "csrf_token": csrf,
            "programme_id": str(charity["programme"]["id"]),
            "name": "过期活动",
            "quota": "5",
            "expires_on": "2026-01-01",  # before today (2026-11-23)
            "categories": ["dibao", "tekun"],
            "min_age": "18",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "有效期不能早于今天" in html and 'id="new-campaign"' in html
    assert 'value="过期活动"' in html and 'value="2026-01-01"' in html and 'value="18"' in html
    assert re.search(r'value="dibao"\s+checked', html) and re.search(
        r'value="tekun"\s+checked', html
    )


@pytest.mark.parametrize(
    "quota, message",
    [
        ("-3", "应在 1 到 1000000 之间"),  # was "应为整数"
        ("²", "名额"),  # '²'.isdigit() but int() refuses it: was a 500
        ("9" * 5000, "名额"),  # longer than int() takes: was a 500
    ],
)
def test_a_bad_quota_is_a_chinese_422(client, charity, quota, message):
    csrf = sign_in_as(client, charity)
    resp = client.post(
        "/console/sponsor/campaigns",
        data={
            "csrf_token": csrf,
            "programme_id": str(charity["programme"]["id"]),
            "name": "活动",
            "quota": quota,
            "expires_on": "2026-12-20",
            "categories": "dibao",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请修改以下内容" in html and message in html
    assert re.search(r'value="dibao"\s+checked', html)  # the ticked category is kept


# --- donations and receipts ----------------------------------------------------------------


def test_donation_receipt_pdf(client, charity):
    sign_in_as(client, charity)
    entry_id = _entry_id(client, charity["admin"])
    html = client.get("/console/sponsor/donations").get_data(as_text=True)
    assert f"HMB-JZ-20261123-{entry_id:08d}" in html
    resp = client.get(f"/console/sponsor/donations/{entry_id}/receipt.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = _pdf_text(resp.data)
    for expected in ("捐赠凭证", "赣州市慈善总会", "人民币捌佰玖拾元整", "¥890.00元", "税前扣除"):
        assert expected in text, expected


def test_a_reservation_has_no_receipt(client, charity):
    """Only top-ups are donations: a reserve entry of the same programme is a 404."""
    from sqlalchemy import select

    from app.database import get_session
    from app.sponsors.models import ProgrammeLedgerEntry

    with client.application.app_context():
        reserve = get_session().scalar(
            select(ProgrammeLedgerEntry.id).where(ProgrammeLedgerEntry.kind == "reserve")
        )
    sign_in_as(client, charity)
    assert client.get(f"/console/sponsor/donations/{reserve}/receipt.pdf").status_code == 404


def test_no_page_carries_an_id_number(client, charity, residents):
    sign_in_as(client, charity)
    pid = charity["programme"]["id"]
    for path in (
        "/console/sponsor/",
        f"/console/sponsor/programmes/{pid}",
        "/console/sponsor/campaigns",
        "/console/sponsor/donations",
    ):
        html = client.get(path).get_data(as_text=True)
        for name in PEOPLE:
            assert residents[name].certno not in html, path
