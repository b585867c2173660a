"""The sponsor console: pages for the admins of employers, charities, relief funds and paired-
assistance units (the organisation roles), under /console/sponsor.

A way in, like the API routes: every handler calls the service the API route calls, with the
same Principal (`g.staff`), so an admin sees only their own organisation's programmes,
campaigns and donations; another organisation's object is the same 404 as the API gives.
- programmes with a budget gauge (reports.summary, services.report);
- roster upload (roster_services.upload_roster) and batch enrollment (jobs.services), whose
  progress the page polls as JSON (`job_status`) to draw a live progress bar;
- downloads: a roster upload's per-row report, a job's per-row outcomes and "who got covered"
  (已参保名单) as XLSX, a campaign's QR poster as PNG and PDF, donation receipts as PDF.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import marshmallow as ma
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.datastructures import MultiDict

from app.auth.models import ORGANISATION_ROLES
from app.campaigns import posters
from app.campaigns import services as campaign_services
from app.campaigns.rules import CATEGORY_LABELS, eligibility_lines
from app.campaigns.schemas import CampaignCreateSchema
from app.common.clock import SHANGHAI, today_shanghai
from app.common.money import percent, yuan
from app.error_catalogue import E
from app.errors import DomainError, translate_field_messages
from app.jobs import exports as job_exports
from app.jobs import services as job_services
from app.jobs.models import ACTIVE_STATUSES, JobStatus
from app.sponsors import exports, receipts, reports, roster_services
from app.sponsors import services as sponsor_services
from app.sponsors.statuses import ProgrammeStatus
from app.web.labels import choice_messages
from app.web.session import label, staff_page

blp = Blueprint("sponsor", __name__, url_prefix="/console/sponsor")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Keyed by the status enums (members equal their strings), every member labelled: a status the
# model can take but the console cannot name was a KeyError (500) in the job's JSON and a blank
# 状态 cell on the page (tests/web_sponsor/test_status_labels.py walks the enums).
PROGRAMME_STATUS_LABELS: dict[str, str] = {
    ProgrammeStatus.ACTIVE: "进行中",
    ProgrammeStatus.PAUSED: "已暂停",
    ProgrammeStatus.CLOSED: "已关闭",
}
JOB_STATUS_LABELS: dict[str, str] = {
    JobStatus.QUEUED: "排队中",
    JobStatus.RUNNING: "进行中",
    JobStatus.SUCCEEDED: "已完成",
    JobStatus.COMPLETED_WITH_ERRORS: "已完成（部分未投保）",
    JobStatus.FAILED: "未完成",
    JobStatus.CANCELLED: "已取消",
}
# What campaign_services.effective_status can say (app/campaigns/rules.EFFECTIVE_STATUSES).
CAMPAIGN_STATUS_LABELS = {
    "active": "进行中",
    "revoked": "已撤销",
    "expired": "已过期",
    "ended": "项目已关闭",
    "exhausted": "名额已满",
    "paused": "项目已暂停",
    "budget_exhausted": "预算已用完",
}
RULE_LABELS = {"full": "全额资助", "fixed": "定额资助", "percentage": "按比例资助"}
FIELD_LABELS = {
    "programme_id": "资助项目",
    "name": "活动名称",
    "quota": "名额",
    "expires_on": "有效期",
    "eligibility.categories": "身份类别",
    "eligibility.min_age": "最小年龄",
    "eligibility.max_age": "最大年龄",
    "eligibility.region_prefix": "地区代码前缀",
}


def shanghai_time(moment: datetime | None) -> str:
    """A stored timestamp (UTC; naive when SQLite read it back) as Beijing time."""
    if moment is None:
        return ""
    stamp = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return stamp.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@blp.context_processor
def _helpers() -> dict:
    return {
        "yuan": yuan,
        "shanghai_time": shanghai_time,
        "percent": percent,
        "programme_status_labels": PROGRAMME_STATUS_LABELS,
        "job_status_labels": JOB_STATUS_LABELS,
        "campaign_status_labels": CAMPAIGN_STATUS_LABELS,
        "rule_labels": RULE_LABELS,
    }


def _download(body: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


_YEAR_RANGE = (2020, 2100)  # the API's plan_year / year range (app/sponsors/schemas.py)


def _int_arg(name: str, low: int, high: int, message: str) -> int | None:
    """An optional integer query argument within [low, high] (as the API's schemas take it);
    anything else is a Chinese 422, not a 500 from datetime() or the database driver."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    # ASCII digits only ('²' passes isdigit() but not int()), and short (int() refuses 4301+)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not low <= int(raw) <= high:
        raise E.validation_failed(message)
    return int(raw)


def _year_arg(name: str) -> int | None:
    return _int_arg(name, *_YEAR_RANGE, "年度应为 2020 到 2100 之间的年份")


def _wants_json() -> bool:
    """A fetch() from sponsor.js (it sends the CSRF header and asks for JSON)."""
    return request.accept_mimetypes.best == "application/json"


def _gauge(total: int, reserved: int, spent: int) -> dict:
    """Shares of the budget for the gauge: spent, reserved for unpaid orders, still free."""
    unpaid = max(reserved - spent, 0)
    free = max(total - reserved, 0)

    def share(part: int) -> float:
        return 0.0 if total <= 0 else round(100.0 * part / total, 2)

    return {
        "total": total,
        "reserved": reserved,
        "spent": spent,
        "unpaid": unpaid,
        "free": free,
        "spent_pct": share(spent),
        "unpaid_pct": share(unpaid),
        "free_pct": share(free),
    }


# --- programmes --------------------------------------------------------------------------------


@blp.get("/")
@staff_page(*ORGANISATION_ROLES)
def programmes():
    summary = reports.summary(g.staff)
    listed = {p.id: p for p in sponsor_services.list_programmes(g.staff)}
    rows = []
    for row in summary["programmes"]:
        programme = listed.get(row["programme_id"])
        reserved = row["spent_fen"] + row["reserved_unpaid_fen"]
        rows.append(
            {
                **row,
                "roster_only": bool(programme and programme.roster_only),
                "gauge": _gauge(row["budget_total_fen"], reserved, row["spent_fen"]),
            }
        )
    return render_template(
        "web/sponsor/programmes.html",
        organisation=summary["organisation"],
        programmes=rows,
        totals=summary["totals"],
    )


@blp.get("/programmes/<int:programme_id>")
@staff_page(*ORGANISATION_ROLES)
def programme(programme_id: int):
    return _programme_page(programme_id)


def _programme_page(programme_id: int, refusal: str | None = None, status: int = 200):
    """The programme's page; `refusal` says above it why a form posted from it was refused."""
    programme = sponsor_services.get_programme(g.staff, programme_id)
    report = sponsor_services.report(g.staff, programme_id)
    context = {
        "programme": programme,
        "report": report,
        "gauge": _gauge(
            report["budget_total_fen"], report["budget_reserved_fen"], report["spent_fen"]
        ),
        "campaigns": campaign_services.list_campaigns(g.staff, programme_id=programme_id),
        "campaign_status": campaign_services.effective_status,
        "roster": None,
        "jobs": [],
        "terms": None,
        "active_job": None,
        "highlight_upload": request.args.get("upload", type=int),
        "refusal": refusal,
    }
    if programme.roster_only:
        context["roster"] = roster_services.roster_summary(g.staff, programme_id)
        jobs = job_services.list_jobs(g.staff, programme_id)
        context["jobs"] = [(job, job_services.progress(job)) for job in jobs]
        context["active_job"] = next((j for j in jobs if j.status in ACTIVE_STATUSES), None)
        try:
            context["terms"] = job_services.enrollment_terms(g.staff, programme_id)
        except DomainError:  # no product of the plan year: nothing to enroll into yet
            context["terms"] = None
    return render_template("web/sponsor/programme.html", **context), status


# --- roster upload and batch enrollment ------------------------------------------------------


def _upload_view(upload) -> dict:
    return {
        "id": upload.id,
        "file_format": upload.file_format,
        "rows_total": upload.rows_total,
        "rows_invalid": upload.rows_invalid,
        "added": upload.added,
        "already_listed": upload.already_listed,
        "already_insured": upload.already_insured,
        "report_xlsx_url": url_for(
            "sponsor.upload_report", programme_id=upload.programme_id, upload_id=upload.id
        ),
    }


@blp.post("/programmes/<int:programme_id>/roster")
@staff_page(*ORGANISATION_ROLES)
def upload_roster(programme_id: int):
    """The same upload as POST /staff/programmes/<id>/roster/uploads (multipart field `file`)."""
    sponsor_services.get_programme(g.staff, programme_id)  # scoping before reading the body
    limit = current_app.config["ROSTER_MAX_BYTES"]
    request.max_content_length = limit + 64 * 1024
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        raise E.roster_file_empty("请选择名单文件")
    upload = roster_services.upload_roster(g.staff, programme_id, storage.read(limit + 1))
    if _wants_json():
        return jsonify(_upload_view(upload)), 201
    return redirect(url_for("sponsor.programme", programme_id=programme_id, upload=upload.id))


def _job_view(job) -> dict:
    return {
        "id": job.id,
        "status": job.status,
        "status_label": label(job.status, JOB_STATUS_LABELS),
        "finished": job.status not in ACTIVE_STATUSES,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        **job_services.progress(job),
        "status_url": url_for("sponsor.job_status", programme_id=job.programme_id, job_id=job.id),
        "rows_xlsx_url": url_for("sponsor.job_rows", programme_id=job.programme_id, job_id=job.id),
    }


@blp.post("/programmes/<int:programme_id>/jobs")
@staff_page(*ORGANISATION_ROLES)
def start_job(programme_id: int):
    """Enroll everyone on the roster not yet insured, after the admin agreed to the terms (the
    same service as POST /staff/programmes/<id>/enrollment-jobs)."""
    try:
        job = job_services.start_roster_enrollment(
            g.staff,
            programme_id,
            terms_version=request.form.get("terms_version", ""),
            terms_accepted=request.form.get("terms_accepted") == "yes",
        )
    except DomainError as exc:
        if _wants_json() or exc.status == 404:
            raise
        # the form's own page, the refusal said above it (not a bare error page)
        return _programme_page(programme_id, exc.detail, exc.status)
    if _wants_json():
        return jsonify(_job_view(job)), 202
    return redirect(url_for("sponsor.programme", programme_id=programme_id))


@blp.get("/programmes/<int:programme_id>/jobs/<int:job_id>/status.json")
@staff_page(*ORGANISATION_ROLES)
def job_status(programme_id: int, job_id: int):
    """What the progress bar polls: counts, percentage, time left, finished or not."""
    response = jsonify(_job_view(job_services.get_job(g.staff, programme_id, job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/programmes/<int:programme_id>/jobs/latest.json")
@staff_page(*ORGANISATION_ROLES)
def latest_job(programme_id: int):
    """The programme's newest job, or null: polled while a start request is still running (with
    no broker the job runs inside that request, committing batch by batch)."""
    jobs = job_services.list_jobs(g.staff, programme_id)
    response = jsonify({"job": _job_view(jobs[0]) if jobs else None})
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/programmes/<int:programme_id>/jobs/<int:job_id>/rows.xlsx")
@staff_page(*ORGANISATION_ROLES)
def job_rows(programme_id: int, job_id: int):
    body = job_exports.rows_xlsx(g.staff, programme_id, job_id)
    return _download(body, XLSX, f"enrollment-job-{job_id}.xlsx")


@blp.get("/programmes/<int:programme_id>/uploads/<int:upload_id>/report.xlsx")
@staff_page(*ORGANISATION_ROLES)
def upload_report(programme_id: int, upload_id: int):
    body = exports.upload_report_xlsx(g.staff, programme_id, upload_id)
    return _download(body, XLSX, f"roster-upload-{upload_id}.xlsx")


# --- who got covered ----------------------------------------------------------------------------


@blp.get("/covered.xlsx")
@staff_page(*ORGANISATION_ROLES)
def covered():
    """已参保名单: every policy the organisation's programmes paid for (optionally one
    programme's, one plan year's), names and ID numbers masked."""
    programme_id = _int_arg("programme_id", 1, 2**31 - 1, "资助项目编号不正确")
    plan_year = _year_arg("plan_year")
    body = exports.covered_xlsx(g.staff, programme_id=programme_id, plan_year=plan_year)
    suffix = f"-programme-{programme_id}" if programme_id else ""
    return _download(body, XLSX, f"covered{suffix}.xlsx")


# --- campaigns ----------------------------------------------------------------------------------


def _campaign_form() -> dict:
    form = request.form
    eligibility: dict = {"categories": form.getlist("categories")}
    for key in ("min_age", "max_age"):
        if form.get(key, "").strip():
            eligibility[key] = form[key].strip()
    if form.get("region_prefix", "").strip():
        eligibility["region_prefix"] = form["region_prefix"].strip()
    return {
        "programme_id": form.get("programme_id", ""),
        "name": form.get("name", "").strip(),
        "quota": form.get("quota", "").strip(),
        "expires_on": form.get("expires_on", "").strip(),
        "eligibility": eligibility,
    }


def _render_campaigns(
    errors: dict | None = None,
    form: MultiDict | None = None,
    status: int = 200,
    refusal: str | None = None,
):
    found = campaign_services.list_campaigns(g.staff)
    choices = [
        p
        for p in sponsor_services.list_programmes(g.staff)
        if p.rule_kind == "full" and p.status != "closed"
    ]
    return (
        render_template(
            "web/sponsor/campaigns.html",
            campaigns=found,
            campaign_status=campaign_services.effective_status,
            eligibility_of=lambda c: eligibility_lines(campaign_services.eligibility_of(c)),
            programme_choices=choices,
            category_labels=CATEGORY_LABELS,
            errors=errors or {},
            refusal=refusal,
            form=form or {},
            chosen_categories=form.getlist("categories") if form else [],
            today=today_shanghai(),
            created=request.args.get("created", type=int),
        ),
        status,
    )


@blp.get("/campaigns")
@staff_page(*ORGANISATION_ROLES)
def campaigns():
    return _render_campaigns()


@blp.post("/campaigns")
@staff_page(*ORGANISATION_ROLES)
def create_campaign():
    """The same checks and service as POST /staff/campaigns (its schema loads the form)."""
    raw = _campaign_form()
    quota = raw["quota"]
    # An integer in ASCII digits (a sign allowed, so "-3" meets the range check, not "应为整数");
    # "²" passes str.isdigit() but not int(), and int() refuses thousands of digits.
    if re.fullmatch(r"-?[0-9]{1,18}", quota):
        quota = int(quota)
    try:
        body = CampaignCreateSchema().load({**raw, "quota": quota})
    except ma.ValidationError as exc:
        choices = {"categories": CATEGORY_LABELS}
        messages = translate_field_messages(choice_messages(exc.normalized_messages(), choices))
        return _render_campaigns(_flatten(messages), request.form, 422)
    try:
        campaign = campaign_services.create_campaign(g.staff, **body)
    except DomainError as exc:
        if exc.status == 404:
            raise
        # Said above the form, which keeps what was typed (the form is not lost).
        return _render_campaigns(None, request.form, exc.status, refusal=exc.detail)
    return redirect(url_for("sponsor.campaigns", created=campaign.id))


def _flatten(messages: dict, prefix: str = "") -> dict:
    flat: dict[str, str] = {}
    for key, value in messages.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            name = f"{prefix}{key}"
            flat[FIELD_LABELS.get(name, name)] = "；".join(str(v) for v in value)
    return flat


@blp.get("/campaigns/<int:campaign_id>/poster.png")
@staff_page(*ORGANISATION_ROLES)
def poster_png(campaign_id: int):
    body = posters.poster_png(g.staff, campaign_id)
    inline = request.args.get("download") != "1"
    return _download(body, "image/png", f"campaign-{campaign_id}-poster.png", inline=inline)


@blp.get("/campaigns/<int:campaign_id>/poster.pdf")
@staff_page(*ORGANISATION_ROLES)
def poster_pdf(campaign_id: int):
    body = posters.poster_pdf(g.staff, campaign_id)
    return _download(body, "application/pdf", f"campaign-{campaign_id}-poster.pdf")


# --- donations and receipts -------------------------------------------------------------------


@blp.get("/donations")
@staff_page(*ORGANISATION_ROLES)
def donations():
    year = _year_arg("year")
    found = reports.donations(g.staff, year=year)
    for item in found["items"]:
        if item["kind"] == "top_up":
            on: date = item["date"]
            item["receipt_number"] = receipts.receipt_number(item["entry_id"], on)
    return render_template("web/sponsor/donations.html", donations=found, year=year)


@blp.get("/donations/<int:entry_id>/receipt.pdf")
@staff_page(*ORGANISATION_ROLES)
def receipt(entry_id: int):
    body = receipts.receipt_pdf(g.staff, entry_id)
    return _download(body, "application/pdf", f"donation-receipt-{entry_id}.pdf")
