"""POST /staff/catalogues and the reads: an operator imports a catalogue version from an XLSX (or a
GB18030 CSV) and gets its per-row report; a bad row is a 422 with the report and nothing written;
only operators get in."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from app.catalogues.models import CatalogueVersion
from app.database import get_session
from app.demo.seed import DEMO_STAFF_PASSWORD
from tests.catalogues.support import (
    COMMERCIAL_ROWS,
    SPECIAL_ROWS,
    commercial_xlsx,
    special_csv,
    upload,
)
from tests.conftest import bearer, login
from tests.security.support import assert_problem, assert_unauthorized, staff_login


def _versions(app) -> int:
    with app.app_context():
        session = get_session()
        count = session.scalar(select(func.count()).select_from(CatalogueVersion))
        session.rollback()
        return count


def test_operator_imports_an_xlsx_and_gets_the_per_row_report(operator, seeded):
    client, token = operator
    resp = upload(client, token, commercial_xlsx(), "商保目录2026.xlsx", effective_to="2026-12-31")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    version, report = body["version"], body["report"]
    assert version["kind"] == "commercial" and version["product_code"] == "ganzhou-demo-2026"
    assert (version["label"], version["effective_from"], version["effective_to"]) == (
        "2026.1",
        "2026-01-01",
        "2026-12-31",
    )
    assert (version["row_count"], version["file_format"], version["status"]) == (
        3,
        "xlsx",
        "active",
    )
    assert version["source_filename"] == "商保目录2026.xlsx"
    assert report["ok"] is True and report["header_row"] == 2
    assert [(r["row_number"], r["code"]) for r in report["rows"]] == [
        (3, "ok"),
        (4, "ok"),
        (5, "ok"),
    ]

    vid = version["id"]
    one = client.get(f"/staff/catalogues/{vid}", headers=bearer(token))
    assert (
        one.status_code == 200
        and one.get_json()["entries_url"] == f"/staff/catalogues/{vid}/entries"
    )
    listed = client.get("/staff/catalogues?kind=commercial", headers=bearer(token)).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == vid
    entries = client.get(
        f"/staff/catalogues/{vid}/entries?page_size=2&page=2", headers=bearer(token)
    ).get_json()
    assert (entries["total"], entries["page"]) == (3, 2)
    assert entries["items"] == [
        {
            "row_number": 5,
            "code": "250403011",
            "name": "肿瘤基因检测",
            "category": "医疗服务项目",
            "price_limit_fen": 300050,
            "quantity_limit": "1",
            "note": "",
        }
    ]
    report_csv = client.get(f"/staff/catalogues/{vid}/report.csv", headers=bearer(token))
    assert report_csv.status_code == 200 and report_csv.mimetype == "text/csv"
    text = report_csv.get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[:2] == [
        ["行号", "结果", "代码", "说明"],
        ["3", "通过", "ok", "通过"],
    ]


def test_a_gb18030_csv_special_drug_list(operator):
    client, token = operator
    resp = upload(client, token, special_csv(), "特药目录.csv", kind="special_drug")
    assert resp.status_code == 201, resp.get_json()
    vid = resp.get_json()["version"]["id"]
    assert resp.get_json()["version"]["file_format"] == "csv"
    items = client.get(f"/staff/catalogues/{vid}/entries", headers=bearer(token)).get_json()[
        "items"
    ]
    assert [i["code"] for i in items] == ["国药准字S20180006", "国药准字H20203012"]
    assert items[0]["indications"] == ["HER2阳性乳腺癌", "HER2阳性胃癌"]
    assert (items[0]["annual_cap_fen"], items[0]["preauth_required"]) == (10_000_000, True)
    assert items[1]["annual_cap_fen"] is None and items[1]["pharmacies"] == []


def test_a_bad_row_is_a_422_with_the_report_and_nothing_written(operator, seeded):
    client, token = operator
    rows = [*SPECIAL_ROWS, ["某药", "国药准字X1", "", "abc", "", "也许"]]
    resp = upload(client, token, special_csv(rows), "bad.csv", kind="special_drug")
    body = assert_problem(resp, 422, "catalogue_rows_invalid")
    report = body["errors"]["report"]
    assert [r["ok"] for r in report["rows"]] == [True, True, False]
    bad = report["rows"][2]
    assert bad["row_number"] == 4
    assert {e["code"] for e in bad["errors"]} == {
        "drug_code_malformed",
        "indications_missing",
        "annual_cap_invalid",
        "preauth_invalid",
    }
    assert _versions(seeded) == 0
    # Fixed, the same file goes in whole.
    assert upload(client, token, special_csv(), "ok.csv", kind="special_drug").status_code == 201


def test_overlap_form_errors_and_unknown_ids(operator):
    client, token = operator
    assert upload(client, token, commercial_xlsx()).status_code == 201
    clash = upload(client, token, commercial_xlsx(COMMERCIAL_ROWS[:1]), label="2026.2")
    assert_problem(clash, 409, "catalogue_version_conflict")
    assert_problem(upload(client, token, commercial_xlsx(), kind="drugs"), 422, "validation_failed")
    assert_problem(
        upload(
            client,
            token,
            commercial_xlsx(),
            label="2",
            effective_from="2026-02-01",
            effective_to="2026-01-01",
        ),
        422,
        "catalogue_dates_reversed",
    )
    assert_problem(
        upload(client, token, b"", "empty.csv", kind="special_drug"), 422, "catalogue_file_empty"
    )
    for path in ("", "/entries", "/report.csv"):
        assert_problem(
            client.get(f"/staff/catalogues/99999{path}", headers=bearer(token)),
            404,
            "catalogue_not_found",
        )


def test_only_operators_get_in(operator, seeded):
    client, token = operator
    vid = upload(client, token, commercial_xlsx()).get_json()["version"]["id"]
    member = login(client, "catalogue-member")["access_token"]
    reviewer = staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)["access_token"]
    for path in (
        "/staff/catalogues",
        f"/staff/catalogues/{vid}",
        f"/staff/catalogues/{vid}/entries",
        f"/staff/catalogues/{vid}/report.csv",
    ):
        assert_unauthorized(client.get(path), "token_missing")
        assert_unauthorized(client.get(path, headers=bearer(member)), "token_audience")
        assert_problem(client.get(path, headers=bearer(reviewer)), 403, "role_forbidden")
    denied = upload(
        client, reviewer, commercial_xlsx(), label="2026.9", effective_from="2027-01-01"
    )
    assert_problem(denied, 403, "role_forbidden")
    assert _versions(seeded) == 1


def test_a_multipart_part_without_a_name_is_a_422_not_a_500(operator):
    client, token = operator
    body = (
        b"--b\r\nContent-Disposition: form-data\r\n\r\nnull\r\n"
        b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\nnull\r\n--b--\r\n'
    )
    resp = client.post(
        "/staff/catalogues",
        headers={**bearer(token), "Content-Type": "multipart/form-data; boundary=b"},
        data=body,
    )
    problem = assert_problem(resp, 422, "validation_failed")
    assert problem["errors"]["form"]["x"] == ["不允许的字段"]
