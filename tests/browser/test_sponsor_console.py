"""The demo charity admin in a real browser: signs in, opens the seeded programme, uploads a
roster (XLSX), agrees to the terms, watches the progress bar reach 100%, downloads the per-row
report and the enrollment outcomes (read back with openpyxl), and sees the budget gauge move.
The clock is frozen (ticking) at 2026-11-23 10:00 Shanghai, inside the demo product's window.

HUIMIN_SCREENSHOT_DIR=<dir> also keeps screenshots of the pages (for a person to look at)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import openpyxl
import pytest

from app.demo.charity import PROGRAMME_NAME, seed_charity
from app.demo.seed import DEMO_STAFF_PASSWORD
from app.identity.idnumber import mask
from tests.browser.conftest import signed_in
from tests.enrollment.conftest import frozen  # noqa: F401  (fixture)
from tests.jobs.support import eligible

PEOPLE = 5


def _shot(page, name: str) -> None:
    folder = os.environ.get("HUIMIN_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _roster_xlsx(path: Path, people) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "身份证号", "类别"])
    for person in people:
        sheet.append([person.name, person.certno, "低保"])
    sheet.append(["无效行", "123", ""])
    workbook.save(path)


def _rows(download) -> list[list]:
    data = Path(download.path()).read_bytes()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.usefixtures("frozen")
def test_charity_admin_uploads_a_roster_and_watches_it_enroll(page, live_server, tmp_path):
    from playwright.sync_api import expect

    with live_server.app.app_context():
        programme_id = seed_charity(DEMO_STAFF_PASSWORD)["charity_programme_id"]
    people = eligible(PEOPLE, skip=40)
    roster = tmp_path / "名单.xlsx"
    _roster_xlsx(roster, people)

    signed_in(page, live_server, "demo-charity")
    page.goto(f"{live_server.url}/console/sponsor/")
    expect(page.locator("h1")).to_contain_text("赣州市慈善总会（演示）")
    expect(page.locator(".programme [data-figure=total]")).to_have_text("¥8,900.00")
    _shot(page, "sponsor-programmes")
    page.click(f"text={PROGRAMME_NAME}")
    page.wait_for_url(f"**/console/sponsor/programmes/{programme_id}")

    page.set_input_files("#roster-file", str(roster))
    page.check("#roster-terms")
    page.click("#roster-submit")
    bar = page.locator("#job-bar")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    expect(page.locator("#job-status-label")).to_have_text("已完成")
    expect(page.locator("#job-bar-text")).to_have_text("100%")
    expect(page.locator("#job-counts")).to_contain_text(f"已投保 {PEOPLE} 人")
    expect(page.locator("#upload-result")).to_contain_text(f"新加入 {PEOPLE} 人")
    expect(page.locator("#upload-result")).to_contain_text("未通过校验 1 行")
    _shot(page, "sponsor-roster-progress")

    with page.expect_download() as report:
        page.click("#upload-report-link")
    rows = _rows(report.value)
    assert rows[0] == ["行号", "姓名", "身份证号", "类别", "结果", "代码", "说明"]
    assert [r[4] for r in rows[1:]] == ["已加入"] * PEOPLE + ["未通过校验"]
    assert [r[2] for r in rows[1 : PEOPLE + 1]] == [mask(p.certno) for p in people]

    with page.expect_download() as outcomes:
        page.click("#job-rows-link")
    rows = _rows(outcomes.value)
    assert [r[3] for r in rows[1:]] == ["已投保"] * PEOPLE

    # The gauge moved: five premiums of 89 yuan spent.
    page.reload()
    expect(page.locator("[data-figure=spent]")).to_have_text("¥445.00")
    expect(page.locator("[data-figure=insured]")).to_have_text(str(PEOPLE))
    html = page.content()
    for person in people:
        assert person.certno not in html
    _shot(page, "sponsor-programme-after")


@pytest.mark.usefixtures("frozen")
def test_charity_admin_prints_a_poster_and_a_receipt(page, live_server):
    """A campaign made through the form, its poster opened (PNG) and downloaded (PDF), and the
    donation receipt of the seeded top-up downloaded; the PDFs' text read back."""
    import pypdf
    from playwright.sync_api import expect

    with live_server.app.app_context():
        seed_charity(DEMO_STAFF_PASSWORD)
    signed_in(page, live_server, "demo-charity")
    page.goto(f"{live_server.url}/console/sponsor/campaigns")
    page.fill("input[name=name]", "困难群众扫码参保")
    page.fill("input[name=quota]", "50")
    page.fill("input[name=expires_on]", "2026-12-31")
    page.check("input[name=categories][value=dibao]")
    page.click("#new-campaign button[type=submit]")
    row = page.locator("#campaigns tr.highlight")
    expect(row).to_contain_text("困难群众扫码参保")
    expect(row).to_contain_text("限低保对象")
    _shot(page, "sponsor-campaigns")

    with page.expect_download() as poster:
        row.locator("text=PDF").click()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(poster.value.path()).pages).replace(
        " ", ""
    )
    assert "困难群众扫码参保" in text and "限低保对象" in text

    png_url = row.locator("text=PNG").get_attribute("href")
    shown = page.goto(f"{live_server.url}{png_url}")
    assert shown.status == 200 and shown.headers["content-type"] == "image/png"

    page.goto(f"{live_server.url}/console/sponsor/donations")
    expect(page.locator("#donations tbody tr")).to_have_count(1)
    _shot(page, "sponsor-donations")
    with page.expect_download() as receipt:
        page.locator("#donations a", has_text="PDF").click()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(receipt.value.path()).pages).replace(
        " ", ""
    )
    assert "捐赠凭证" in text and "人民币捌仟玖佰元整" in text
