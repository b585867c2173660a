"""The sponsor console's documents, through their services: the 大写 amount, the donation
receipt PDF (its text extracted), the campaign poster (PNG decoded back to its link, PDF text),
"who got covered" and a roster upload's report as XLSX (read back with openpyxl), each scoped to
the caller's own organisation."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import openpyxl
import pypdf
import pytest
import zxingcpp
from PIL import Image

from app.campaigns import posters
from app.common.money import rmb_uppercase
from app.common.spreadsheets import xlsx_bytes
from app.errors import DomainError
from app.identity.idnumber import mask
from app.sponsors import exports, receipts, reports
from tests.campaigns.conftest import PREMIUM
from tests.jobs.support import eligible, roster_csv, upload
from tests.web_sponsor.conftest import PEOPLE


@pytest.mark.parametrize(
    "fen, expected",
    [
        (0, "零元整"),
        (1, "壹分"),
        (20, "贰角整"),
        (105, "壹元零伍分"),
        (120, "壹元贰角整"),
        (1000, "壹拾元整"),
        (1010, "壹拾元壹角整"),
        (8900, "捌拾玖元整"),
        (89_000, "捌佰玖拾元整"),
        (10_010_000, "壹拾万零壹佰元整"),
        (100_000_010, "壹佰万元壹角整"),
        (123_456_789, "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
        (10_000_000_100, "壹亿零壹元整"),
        (100_000_000_000, "壹拾亿元整"),
        (1_000_100_000_000, "壹佰亿零壹佰万元整"),
    ],
)
def test_rmb_uppercase(fen, expected):
    assert rmb_uppercase(fen) == expected


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100"])
def test_rmb_uppercase_refuses(bad):
    with pytest.raises((ValueError, TypeError)):
        rmb_uppercase(bad)


def test_xlsx_text_is_never_a_formula():
    data = xlsx_bytes("表", ["姓名"], [['=HYPERLINK("x")'], ["+1"], [12]])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.data_type for c in sheet["A"]] == ["s", "s", "s", "n"]
    assert sheet["A2"].value == '=HYPERLINK("x")'


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _entry_id(app, principal) -> int:
    with app.app_context():
        [item] = reports.donations(principal)["items"]
    return item["entry_id"]


def test_receipt_pdf_reads_in_chinese(app, charity):
    entry_id = _entry_id(app, charity["principal"])
    with app.app_context():
        data = receipts.receipt(charity["principal"], entry_id)
        pdf = receipts.receipt_pdf(charity["principal"], entry_id)
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf).replace(" ", "")
    assert data["number"] == f"HMB-JZ-20261123-{entry_id:08d}"
    for expected in (
        "捐赠凭证",
        "赣州市慈善总会",
        data["organisation_uscc"],
        "慈善助保",
        "¥890.00元",
        "人民币捌佰玖拾元整",
        "2026年11月23日",
        data["number"],
        "税前扣除",
        "公益事业捐赠票据",
    ):
        assert expected in text, expected
    # The font is embedded (subset): the PDF reads the same on a host without it.
    assert b"/FontFile2" in pdf


def test_receipt_of_another_organisation_is_not_found(app, charity, employer):
    entry_id = _entry_id(app, charity["principal"])
    with app.app_context(), pytest.raises(DomainError) as caught:
        receipts.receipt(employer["principal"], entry_id)
    assert caught.value.code == "donation_not_found"
    assert caught.value.status == 404


def test_poster_png_scans_to_the_campaign_link(app, charity):
    with app.app_context():
        png = posters.poster_png(charity["principal"], charity["campaign"]["id"])
    image = Image.open(io.BytesIO(png))
    assert image.size == (1240, 1754)
    [found] = zxingcpp.read_barcodes(image)
    assert found.text == charity["campaign"]["link"]


def test_poster_pdf_carries_name_and_instructions(app, charity):
    with app.app_context():
        pdf = posters.poster_pdf(charity["principal"], charity["campaign"]["id"])
    text = _pdf_text(pdf).replace(" ", "")
    for expected in (
        "扫码免费参保",
        "扫码领取惠民保",  # the campaign's name
        "由赣州市慈善总会全额资助保费，本人无需付费",
        "参加步骤",
        "实名认证",
        "有效期至2026年12月31日",
        "名额5人",
        "本市基本医疗保险参保人员均可参加",
    ):
        assert expected in text, expected
    assert urlsplit(charity["campaign"]["link"]).netloc  # the QR's link is absolute


def test_poster_of_another_organisation_is_not_found(app, charity, employer):
    with app.app_context(), pytest.raises(DomainError) as caught:
        posters.poster_png(employer["principal"], charity["campaign"]["id"])
    assert caught.value.code == "campaign_not_found"


def test_covered_xlsx_lists_the_funded_people_masked(app, charity, residents):
    with app.app_context():
        data = exports.covered_xlsx(charity["principal"])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "已参保名单"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == exports.COVERED_HEADER
    assert len(rows) == 1 + len(PEOPLE)
    masked_ids = {row[2] for row in rows[1:]}
    assert masked_ids == {mask(residents[name].certno) for name in PEOPLE}
    for row in rows[1:]:
        assert row[3] == 2026 and row[4] == "有效" and row[7] == "慈善助保"
        assert row[8] == PREMIUM / 100
    raw = data.decode("latin-1")
    for name in PEOPLE:
        assert residents[name].certno not in raw


def test_covered_xlsx_for_another_organisations_programme_is_not_found(app, charity, employer):
    with app.app_context(), pytest.raises(DomainError) as caught:
        exports.covered_xlsx(employer["principal"], programme_id=charity["programme"]["id"])
    assert caught.value.code == "programme_not_found"


def test_upload_report_xlsx(app, client, employer):
    people = eligible(2)
    resp = upload(
        client, employer["admin"], employer["programme"]["id"], roster_csv(people, "王五,123,")
    )
    assert resp.status_code == 201, resp.get_json()
    upload_id = resp.get_json()["id"]
    with app.app_context():
        data = exports.upload_report_xlsx(
            employer["principal"], employer["programme"]["id"], upload_id
        )
    rows = [
        [c.value for c in r] for r in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows()
    ]
    assert rows[0] == ["行号", "姓名", "身份证号", "类别", "结果", "代码", "说明"]
    assert [r[4] for r in rows[1:]] == ["已加入", "已加入", "未通过校验"]
    assert rows[1][2] == mask(people[0].certno)
    assert people[0].certno not in data.decode("latin-1")


def test_an_employers_receipt_is_a_funding_record(app, client, employer):
    """An employer insuring its staff pays from welfare funds, not a donation: its receipt says
    so in its title and purpose."""
    with app.app_context():
        [item] = reports.donations(employer["principal"])["items"]
        pdf = receipts.receipt_pdf(employer["principal"], item["entry_id"])
    text = _pdf_text(pdf).replace(" ", "")
    assert "惠民保资助款凭证" in text and "捐赠凭证" not in text
    assert "为本单位职工参加普惠型商业补充医疗保险" in text
    assert "人民币肆佰肆拾伍元整" in text  # 5 premiums of 89 yuan
