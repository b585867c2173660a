"""Roster upload through HTTP: per-row results, re-uploads that list nobody twice, the roster
summary and its masked, paged entries, the per-row report as CSV, and the limits on the file."""

from __future__ import annotations

import csv
import io

import openpyxl
from sqlalchemy import func, select

from app.database import get_session
from app.members.models import Person
from app.sponsors.roster_models import RosterEntry, RosterReportRow, RosterUpload
from tests.conftest import bearer
from tests.enrollment.conftest import pay, place_order
from tests.jobs.support import (
    PREMIUM_FEN,
    by_name,
    eligible,
    employer_programme,
    roster_csv,
    upload,
)


def db_count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def test_upload_reports_every_row_and_lists_the_valid_people(sponsors, client):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    people = eligible(5)
    data = roster_csv(
        people,
        f"{people[0].name}伟,{people[0].certno},",  # line 7: duplicate
        f"坏号码,{people[1].certno[:17]}0,",  # line 8: check char
        "无名氏,,",
    )  # line 9: no number
    resp = upload(client, admin, programme["id"], data)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert {
        k: body[k]
        for k in (
            "rows_total",
            "rows_invalid",
            "added",
            "already_listed",
            "already_insured",
            "file_format",
        )
    } == {
        "rows_total": 8,
        "rows_invalid": 3,
        "added": 5,
        "already_listed": 0,
        "already_insured": 0,
        "file_format": "csv",
    }
    assert body["report_url"].endswith(f"/roster/uploads/{body['id']}/report.csv")

    report = client.get(body["report_url"], headers=bearer(admin))
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    raw = report.get_data()
    assert raw.startswith("\ufeff".encode())  # Excel reads the Chinese as UTF-8
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0] == ["行号", "姓名", "身份证号", "类别", "结果", "代码", "说明"]
    by_line = {int(line[0]): line for line in lines[1:]}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert by_line[2][4:6] == ["已加入", "roster_added"]
    assert by_line[7][5] == "roster_duplicate_in_file" and "第2行" in by_line[7][6]
    assert by_line[8][5] == "id_number_checksum"
    assert by_line[9][5] == "id_number_missing"
    text = raw.decode("utf-8-sig")
    for person in people:  # masked only, never the number or name
        assert person.certno not in text and person.certno[:17] not in text
        assert f",{person.name}," not in text
    assert by_line[2][2] == people[0].certno[:4] + "*" * 10 + people[0].certno[-4:]


def test_reupload_and_overlap_list_nobody_twice(sponsors, client, seeded):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 10)
    first, overlap = eligible(6), eligible(6, skip=3)  # 3 in common
    persons_before = db_count(seeded, Person)
    assert upload(client, admin, programme["id"], roster_csv(first)).get_json()["added"] == 6
    again = upload(client, admin, programme["id"], roster_csv(first)).get_json()
    assert (again["added"], again["already_listed"]) == (0, 6)
    assert (
        again["file_sha256"]
        == upload(client, admin, programme["id"], roster_csv(first)).get_json()["file_sha256"]
    )
    mixed = upload(client, admin, programme["id"], roster_csv(overlap)).get_json()
    assert (mixed["added"], mixed["already_listed"]) == (3, 3)

    assert db_count(seeded, RosterEntry, RosterEntry.programme_id == programme["id"]) == 9
    # One Person per ID number (blind index), however many uploads named them.
    assert db_count(seeded, Person) == persons_before + 9
    summary = client.get(
        f"/staff/programmes/{programme['id']}/roster", headers=bearer(admin)
    ).get_json()
    assert (summary["entries"], summary["insured"], len(summary["uploads"])) == (9, 0, 4)
    assert summary["uploads"][0]["id"] == mixed["id"]  # newest first


def test_entries_are_masked_and_paged(sponsors, client):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN)
    people = eligible(7)
    upload(client, admin, programme["id"], roster_csv(people))
    path = f"/staff/programmes/{programme['id']}/roster/entries"
    page1 = client.get(path, headers=bearer(admin), query_string={"page_size": 5}).get_json()
    page2 = client.get(
        path, headers=bearer(admin), query_string={"page": 2, "page_size": 5}
    ).get_json()
    assert (page1["total"], len(page1["items"]), len(page2["items"])) == (7, 5, 2)
    first = page1["items"][0]
    assert first["id_number_masked"] == people[0].certno[:4] + "*" * 10 + people[0].certno[-4:]
    assert first["name_masked"].endswith(people[0].name[-1]) and first["name_masked"].startswith(
        "*"
    )
    assert first["insured"] is False
    for item, person in zip(page1["items"] + page2["items"], people):
        assert person.certno not in str(item) and item["name_masked"] != person.name
    too_big = client.get(path, headers=bearer(admin), query_string={"page_size": 101})
    assert too_big.status_code == 422


def test_an_insured_person_is_reported_and_not_listed(sponsors, client, family, seeded):
    """张伟 bought his own cover this year: a roster naming him reports him as insured."""
    order = place_order(client, family, [])
    assert pay(client, family, order["id"]).get_json()["state"] == "paid"
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5)
    body = upload(
        client, admin, programme["id"], roster_csv([by_name("张伟"), by_name("李娜")])
    ).get_json()
    assert (body["added"], body["already_insured"]) == (1, 1)
    with seeded.app_context():
        codes = set(
            get_session().scalars(
                select(RosterReportRow.code).where(RosterReportRow.upload_id == body["id"])
            )
        )
    assert codes == {"roster_added", "roster_already_insured"}


def test_a_row_naming_a_verified_person_otherwise_is_refused(sponsors, client, family, seeded):
    """张伟 verified with the bureau: a row with his ID number under another name (a mistyped
    number) is refused at upload, never listed, so no job enrolls him at the sponsor's cost;
    his own name, written with a space, is him."""
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5)
    zhang, li = by_name("张伟"), by_name("李娜")
    data = roster_csv([li], f"李四,{zhang.certno},")
    body = upload(client, admin, programme["id"], data).get_json()
    assert (body["added"], body["rows_invalid"]) == (1, 1), body
    with seeded.app_context():
        rows = get_session().execute(
            select(RosterReportRow.line, RosterReportRow.code, RosterReportRow.message).where(
                RosterReportRow.upload_id == body["id"]
            )
        )
        refused = [(line, code, message) for line, code, message in rows if code != "roster_added"]
    assert refused == [
        (3, "roster_name_mismatch", "姓名与该身份证号在医保登记的姓名不一致，请核对姓名和身份证号")
    ]
    assert db_count(seeded, RosterEntry, RosterEntry.programme_id == programme["id"]) == 1
    again = upload(client, admin, programme["id"], roster_csv([], f"张 伟,{zhang.certno},"))
    assert again.get_json()["added"] == 1, again.get_json()


def test_xlsx_upload(sponsors, client):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 5)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "类别"])
    for person in eligible(3):
        sheet.append([person.name, person.certno, None])
    buffer = io.BytesIO()
    book.save(buffer)
    # The name says CSV; the bytes say XLSX, and the bytes decide.
    resp = upload(
        client, admin, programme["id"], buffer.getvalue(), filename="../../etc/roster.csv"
    )
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["file_format"], resp.get_json()["added"]) == ("xlsx", 3)


def test_unreadable_file_is_a_422_and_writes_nothing(sponsors, client, seeded):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN)
    resp = upload(client, admin, programme["id"], "姓名,类别\n张伟,低保\n".encode())
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "roster_headers_missing"
    assert "身份证号" in resp.get_json()["detail"]
    missing = client.post(
        f"/staff/programmes/{programme['id']}/roster/uploads",
        headers=bearer(admin),
        data={},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert db_count(seeded, RosterUpload) == 0


def test_the_roster_has_its_own_size_limit(sponsors, client, seeded):
    """Rosters are bigger than any other request body (MAX_CONTENT_LENGTH is 1 MiB): a 1.2 MB
    roster goes through, one above ROSTER_MAX_BYTES is a 413."""
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 20)
    assert seeded.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    note = "备注" * 20_000  # 120 kB of UTF-8 per line
    people = eligible(10)
    big = (
        "姓名,身份证号,备注\n" + "".join(f"{p.name},{p.certno},{note}\n" for p in people)
    ).encode()
    assert len(big) > 1.1 * 1024 * 1024
    resp = upload(client, admin, programme["id"], big)
    assert resp.status_code == 201 and resp.get_json()["added"] == 10, resp.get_json()

    seeded.config["ROSTER_MAX_BYTES"] = 1024 * 1024
    resp = upload(client, admin, programme["id"], big)
    assert resp.status_code == 413 and resp.get_json()["code"] == "payload_too_large"


def test_only_roster_programmes_take_a_roster(sponsors, client):
    admin, programme = sponsors.relief_fund()  # eligibility by bureau categories
    resp = upload(client, admin, programme["id"], roster_csv(eligible(1)))
    assert resp.status_code == 409 and resp.get_json()["code"] == "programme_not_roster"

    employer, roster_programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN)
    resp = client.post(
        f"/staff/programmes/{roster_programme['id']}/status",
        headers=bearer(employer),
        json={"action": "close"},
    )
    assert resp.status_code == 200
    resp = upload(client, employer, roster_programme["id"], roster_csv(eligible(1)))
    assert resp.status_code == 409 and resp.get_json()["code"] == "programme_closed"


def test_a_roster_the_budget_cannot_cover_is_warned_at_upload_with_the_numbers(sponsors, client):
    admin, programme = employer_programme(sponsors, budget_fen=PREMIUM_FEN * 3 + 50)
    first = upload(client, admin, programme["id"], roster_csv(eligible(3))).get_json()
    assert first["budget_warning"] is None  # three people, budget for three
    more = upload(client, admin, programme["id"], roster_csv(eligible(2, skip=3))).get_json()
    assert more["budget_warning"] == {
        "code": "roster_budget_short",
        "message": "名单中尚未参保 5 人，需资助 5 人，但剩余预算 267.50 元，每人最高资助 89.00 元，"
        "只够资助 3 人；请追加预算，否则超出部分将无法参保",
        "people_waiting": 5,
        "people_covered": 3,
        "budget_left_fen": PREMIUM_FEN * 3 + 50,
        "per_person_fen": PREMIUM_FEN,
        "quota_left": None,
    }
    # the warning stays with the upload it was given at
    summary = client.get(f"/staff/programmes/{programme['id']}/roster", headers=bearer(admin))
    uploads = {u["id"]: u["budget_warning"] for u in summary.get_json()["uploads"]}
    assert uploads[first["id"]] is None and uploads[more["id"]]["people_covered"] == 3
