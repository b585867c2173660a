"""A batch enrollment in which a row fails, through the sponsor console: the job ends
`completed_with_errors` and the console names that status (it was a KeyError: a 500 on the
start request and a blank 状态 cell after a reload); the outcome sheet names the line of the
uploaded file and the policy number the member sees; the upload report names categories in
Chinese. Every status the job, row, programme and campaign models can take has a label."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from app.campaigns.rules import EFFECTIVE_STATUSES
from app.database import get_session
from app.identity.idnumber import mask
from app.integrations.bureau.port import CATEGORY_NAMES, IDENTITY_CATEGORIES
from app.jobs.exports import ROW_STATUS_LABELS
from app.jobs.models import JobRow, JobRowStatus, JobStatus
from app.policies.models import Policy
from app.sponsors import rosters
from app.sponsors.roster_models import RosterEntry
from app.sponsors.statuses import ProgrammeStatus
from app.web.sponsor import CAMPAIGN_STATUS_LABELS, JOB_STATUS_LABELS, PROGRAMME_STATUS_LABELS
from tests.enrollment.conftest import terms_version
from tests.factories import STAFF_PASSWORD
from tests.jobs.support import by_name, eligible
from tests.web.support import signed_in

JSON = {"Accept": "application/json"}


@pytest.mark.parametrize(
    ("statuses", "labels"),
    [
        (list(JobStatus), JOB_STATUS_LABELS),
        (list(JobRowStatus), ROW_STATUS_LABELS),
        (list(ProgrammeStatus), PROGRAMME_STATUS_LABELS),
        (list(EFFECTIVE_STATUSES), CAMPAIGN_STATUS_LABELS),
    ],
    ids=["job", "job_row", "programme", "campaign"],
)
def test_every_status_has_a_chinese_label(statuses, labels):
    missing = [s for s in statuses if s not in labels]
    assert missing == []
    assert all(re.search(r"[\u4e00-\u9fff]", labels[s]) for s in statuses)


def test_every_category_has_one_chinese_name_a_roster_accepts():
    assert set(CATEGORY_NAMES) == set(IDENTITY_CATEGORIES.values())
    for category, name in CATEGORY_NAMES.items():
        assert rosters.CATEGORY_ALIASES[name] == category


def _sheet(data: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _roster(lines: list[str]) -> bytes:
    return ("\n".join(["姓名,身份证号,类别", *lines]) + "\n").encode("utf-8")


def _upload(client, employer) -> tuple[str, dict, list]:
    """Signs in, uploads a roster whose line 4 cannot be enrolled; (csrf, upload, people)."""
    csrf = signed_in(client, employer["username"], STAFF_PASSWORD)
    first, second = eligible(2)
    suspended = by_name("王芳")  # 暂停参保 in the sandbox bureau: cannot be enrolled
    data = _roster(
        [
            "王五,110101199001011234,",  # line 2: a wrong check character, not listed
            f"{first.name},{first.certno},低保",  # line 3
            f"{suspended.name},{suspended.certno},2302",  # line 4: the bureau's code for 特困
            f"{second.name},{second.certno},",  # line 5
        ]
    )
    up = client.post(
        f"/console/sponsor/programmes/{employer['programme']['id']}/roster",
        data={"file": (io.BytesIO(data), "roster.csv")},
        headers={"X-CSRF-Token": csrf, **JSON},
        content_type="multipart/form-data",
    )
    assert up.status_code == 201, up.get_data(as_text=True)
    return csrf, up.get_json(), [first, suspended, second]


def _start(client, employer, csrf: str):
    return client.post(
        f"/console/sponsor/programmes/{employer['programme']['id']}/jobs",
        data={"terms_version": terms_version(client), "terms_accepted": "yes"},
        headers={"X-CSRF-Token": csrf, **JSON},
    )


def test_the_upload_report_names_categories_in_chinese(client, employer):
    _, upload, _ = _upload(client, employer)
    report = _sheet(client.get(upload["report_xlsx_url"]).data)
    assert report[0][3] == "类别"
    assert [r[3] for r in report[1:]] == [None, "低保对象", "特困人员", None]


def test_a_job_with_a_failed_row_is_named_not_a_500(client, employer):
    csrf, _, _ = _upload(client, employer)
    started = _start(client, employer, csrf)
    assert started.status_code == 202, started.get_data(as_text=True)
    job = started.get_json()
    assert (job["status"], job["done"], job["failed"]) == ("completed_with_errors", 2, 1)
    assert job["status_label"] == "已完成（部分未投保）" and job["finished"] is True
    assert client.get(job["status_url"]).get_json()["status_label"] == "已完成（部分未投保）"
    html = client.get(f"/console/sponsor/programmes/{employer['programme']['id']}").get_data(
        as_text=True
    )
    jobs_table = html[html.index('id="jobs"') :]
    assert f"<td>{job['id']}</td>" in jobs_table and "<td>已完成（部分未投保）</td>" in jobs_table


def test_the_outcome_sheet_names_the_file_line_and_the_policy_number(client, employer):
    csrf, upload, (first, suspended, second) = _upload(client, employer)
    # the JSON start answered 500 before the label fix; the job ran all the same
    _start(client, employer, csrf)
    job_id = client.get(
        f"/console/sponsor/programmes/{employer['programme']['id']}/jobs/latest.json"
    ).get_json()["job"]["id"]
    outcome = _sheet(
        client.get(
            f"/console/sponsor/programmes/{employer['programme']['id']}/jobs/{job_id}/rows.xlsx"
        ).data
    )
    assert outcome[0] == ["行号", "姓名", "身份证号", "结果", "代码", "说明", "保单号", "上传编号"]
    body = outcome[1:]
    assert [(r[0], r[2], r[3]) for r in body] == [
        (3, mask(first.certno), "已投保"),
        (4, mask(suspended.certno), "未投保"),
        (5, mask(second.certno), "已投保"),
    ]
    assert {r[7] for r in body} == {upload["id"]}
    assert body[1][4] == "basic_insurance_suspended" and body[1][6] is None
    with client.application.app_context():
        found = get_session().execute(
            select(RosterEntry.line, Policy.policy_no)
            .join(JobRow, JobRow.roster_entry_id == RosterEntry.id)
            .join(Policy, Policy.id == JobRow.policy_id)
            .where(JobRow.job_id == job_id)
        )
        issued = {line: policy_no for line, policy_no in found}
    assert issued == {3: body[0][6], 5: body[2][6]}
    assert all(re.fullmatch(r"HMB\w+", r[6]) for r in (body[0], body[2]))


def test_a_plain_form_start_with_a_failed_row_redirects_and_the_page_names_it(client, employer):
    csrf = signed_in(client, employer["username"], STAFF_PASSWORD)
    pid = employer["programme"]["id"]
    suspended = by_name("王芳")
    data = _roster([f"{p.name},{p.certno}," for p in (*eligible(1), suspended)])
    client.post(
        f"/console/sponsor/programmes/{pid}/roster",
        data={"file": (io.BytesIO(data), "r.csv"), "csrf_token": csrf},
        content_type="multipart/form-data",
    )
    resp = client.post(
        f"/console/sponsor/programmes/{pid}/jobs",
        data={"terms_version": terms_version(client), "terms_accepted": "yes", "csrf_token": csrf},
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r"<td>已完成（部分未投保）</td>\s*<td class=\"num\">2</td>", html)
