"""The reviewer's workspace: the queue with filters and search, a claim with its documents,
bureau record, explanation, fee lines, flags and history, and the review actions.

Every read and action calls the service the API route calls (app/claims), with the API's own
schemas to parse input and to dump the claim, so a page shows a reviewer exactly what
`GET /staff/claims/{id}` would (masked the same way) and its reads are audited the same way.
Decisions need a claim assigned to the reviewer (the service checks); a second submission of a
decision meets the claim's state machine and changes nothing (409, shown on the page). The
approve form carries a one-time form key, kept like the API's Idempotency-Key: submitted twice,
it approves once and shows the first outcome again.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping

import marshmallow as ma
from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from app.auth import accounts
from app.claims import line_intake, services
from app.claims.line_schemas import StaffLinesBodySchema
from app.claims.queue import insured_names
from app.claims.schemas import (
    AssignSchema,
    ClaimApproveSchema,
    InfoRequestCreateSchema,
    QueueQuerySchema,
    RedetermineSchema,
    RejectSchema,
    StaffClaimSchema,
)
from app.claims.workflow import REJECT_REASON_LABELS, REVERSED_LABEL, STATUS_LABELS, status_label
from app.common import idempotency
from app.common.clock import now_utc
from app.documents.types import DOCUMENT_TYPE_LABELS
from app.error_catalogue import E
from app.errors import DomainError, translate_field_messages
from app.web.labels import (
    ACTOR_LABELS,
    ASSIGNED_LABELS,
    CARE_KIND_LABELS,
    CHARGE_LEVEL_LABELS,
    DECISION_LABELS,
    FLAG_LABELS,
    HEALTH_LABELS,
    LINE_SOURCE_LABELS,
    QUEUE_STATUSES,
    TRANSITION_LABELS,
    choice_messages,
)
from app.web.session import staff_page

blp = Blueprint("review", __name__, url_prefix="/console/claims")

# The hidden input carrying a decision form's one-time key (see _act), and what a page says
# when the key itself is refused.
FORM_KEY = "form_key"
FORM_KEY_MESSAGES = {
    "idempotency_key_reused": "该表单已提交过不同的内容，请刷新页面后重新填写",
    "idempotency_in_progress": "该表单正在提交中，请稍后刷新页面查看结果",
}

NOTICES = {
    "assigned": "已领取该理赔，可以查看材料并作出决定",
    "assigned_to": "已分配给审核员，由其查看材料并作出决定",
    "approved": "已核准，理赔款已发起支付",
    "rejected": "已拒赔，会员将收到通知",
    "info": "已要求会员补充材料",
    "health": "既往症认定已更新，引擎已重新计算",
    "lines": "费用明细已保存，引擎已重新计算",
}


# What the forms and filters call each field, so an error names it as the reviewer sees it
# (not `reason`); `reason` is labelled by the form it came from (_REASON_LABELS).
FIELD_LABELS = {
    "status": "状态",
    "assigned": "分配",
    "flag": "风险标记",
    "care_kind": "就医类别",
    "min_age_days": "等待天数",
    "claim_no": "理赔编号",
    "insured": "被保险人",
    "before_id": "翻页位置",
    "staff_id": "审核员",
    "reason_code": "拒赔原因",
    "message": "需补充的说明",
    "documents": "需补充的材料",
    "health": "既往症认定",
    "reason": "理由",
    "expected_payable_fen": "核准金额",
    # the itemised-line editor (a row's errors read 费用明细第 N 行 + the column's heading)
    "lines": "费用明细",
    "med_list_codg": "医保目录编码",
    "name": "项目名称",
    "chrgitm_lv": "等级",
    "cnt": "数量",
    "det_item_fee_sumamt_fen": "金额",
    "fulamt_ownpay_amt_fen": "全自费",
    "overlmt_amt_fen": "超限价",
    "inscp_scp_amt_fen": "政策范围内",
}
# The labels of each field's choices: a refused choice is said with them, never with the codes.
FIELD_CHOICES: dict[str, Mapping[str, str]] = {
    "status": {s: STATUS_LABELS[s] for s in QUEUE_STATUSES},
    "assigned": ASSIGNED_LABELS,
    "flag": FLAG_LABELS,
    "care_kind": CARE_KIND_LABELS,
    "reason_code": REJECT_REASON_LABELS,
    "health": HEALTH_LABELS,
    "documents": DOCUMENT_TYPE_LABELS,
}
_REASON_LABELS = {
    "approved": "核准理由",
    "rejected": "给会员的说明",
    "health": "依据",
    "lines": "录入原因",
}


def _load(schema: ma.Schema, data: dict, form: str | None = None) -> dict:
    """The API's schema over a form: its field errors as the API's 422, each field named in
    Chinese as the form labels it."""
    try:
        return schema.load(data)
    except ma.ValidationError as exc:
        messages = translate_field_messages(choice_messages(exc.messages, FIELD_CHOICES))
        labels = FIELD_LABELS | ({"reason": _REASON_LABELS[form]} if form else {})
        fields = "；".join(_problems(messages, labels) if isinstance(messages, dict) else [])
        raise E.validation_failed(
            f"提交的信息有误：{fields}" if fields else None, errors={"form": messages}
        ) from None


def _problems(messages: dict, labels: dict, where: str = "") -> list[str]:
    """Field errors as "label：problem" lines; a list item's (a line of the editor) as
    "费用明细第 N 行" + its field's label."""
    found = []
    for name, problems in messages.items():
        if isinstance(name, int) or str(name).isdigit():
            place = f"{where}第 {int(name) + 1} 行"
        else:
            place = where + labels.get(name, name)
        if isinstance(problems, dict):
            found += _problems(problems, labels, place)
        else:
            found.append(f"{place}：{'、'.join(map(str, problems))}")
    return found


# --- the queue ---------------------------------------------------------------------------------


_QUEUE_FIELDS = ("status", "assigned", "flag", "care_kind", "claim_no", "insured", "min_age_days")


@blp.get("")
@staff_page("reviewer", "operator")
def queue():
    raw = {k: v.strip() for k, v in request.args.items() if v.strip()}
    error = None
    try:
        query = _load(
            QueueQuerySchema(), {k: raw[k] for k in (*_QUEUE_FIELDS, "before_id") if k in raw}
        )
        claims = services.queue(g.staff, **query)
    except DomainError as exc:
        error, query, claims = exc.detail, {}, []
    names = insured_names(claims)
    stale = services.stale_claims(claims)  # figures older than the person-year's accumulators
    now = now_utc()
    rows = [
        {
            "claim": c,
            "insured": names.get(c.id, ""),
            "status_label": status_label(c.status, c.reversed_at),
            "waiting_days": (now - c.submitted_at).days if c.submitted_at else None,
            "stale": c.id in stale,
        }
        for c in claims
    ]
    limit = query.get("limit", 50)
    next_args = None
    if len(claims) == limit:
        next_args = {k: raw[k] for k in _QUEUE_FIELDS if k in raw} | {"before_id": claims[-1].id}
    return render_template(
        "web/review/queue.html",
        rows=rows,
        filters=raw,
        error=error,
        next_url=url_for("review.queue", **next_args) if next_args else None,
        statuses=QUEUE_STATUSES,
        status_labels=STATUS_LABELS,
        care_kinds=CARE_KIND_LABELS,
        flag_labels=FLAG_LABELS,
        assigned_labels=ASSIGNED_LABELS,
    )


# --- a claim -----------------------------------------------------------------------------------

_FEN = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²" passes isdigit() but not int()


def _claim_page(
    claim_id: int, status: int = 200, error: str | None = None, posted: str | None = None
):
    """The claim page; `posted` names the decision form (its `done` code) whose refusal this
    page shows, and that form is filled again with what was sent (nothing typed is lost)."""
    claim = services.staff_get(g.staff, claim_id)  # audited, as the API's read
    view = StaffClaimSchema().dump(claim)
    # What approval would pay now (None once decided): the engine re-run read-only, since other
    # claims of the person-year may have settled after this one was adjudicated.
    figure = services.current_figure(claim_id)
    mine = view["assigned_staff_id"] == g.staff.id
    reviewers = []
    if g.staff.role == "operator":
        reviewers = [
            a for a in accounts.list_accounts(g.staff) if a.role == "reviewer" and a.active
        ]
    page = render_template(
        "web/review/claim.html",
        c=view,
        figure=figure,
        adjudication=figure.adjudication if figure else view["adjudication"],
        mine=mine,
        assignee=_assignee(view["assigned_staff_id"]),
        reviewers=reviewers,
        notice=NOTICES.get(request.args.get("done", "")),
        error=error,
        status_labels=STATUS_LABELS,
        care_kinds=CARE_KIND_LABELS,
        document_labels=DOCUMENT_TYPE_LABELS,
        reject_reasons=list(REJECT_REASON_LABELS.items()),
        health_labels=HEALTH_LABELS,
        transition_labels=TRANSITION_LABELS,
        reversed_label=REVERSED_LABEL,
        flag_labels=FLAG_LABELS,
        decision_labels=DECISION_LABELS,
        level_labels=CHARGE_LEVEL_LABELS,
        line_source_labels=LINE_SOURCE_LABELS,
        actor_labels=ACTOR_LABELS,
        decidable=mine and view["status"] in ("pending_review", "recheck"),
        form_key=secrets.token_urlsafe(16),  # one per page: a second submission acts once
        posted=posted,
        sent=request.form if posted else {},
    )
    return page, status


def _assignee(staff_id: int | None) -> str:
    if staff_id is None:
        return "未分配"
    if staff_id == g.staff.id:
        return "我"
    return f"审核员 #{staff_id}"


@blp.get("/<int:claim_id>")
@staff_page("reviewer", "operator")
def claim(claim_id: int):
    return _claim_page(claim_id)


def _act(claim_id: int, done: str, action, *, keyed: bool = False):
    """Run a review action; a refusal is shown on the claim page (a missing claim is a 404).

    `keyed` (approve, as the API's Idempotency-Key): the form's one-time key (FORM_KEY, a
    hidden input made with each page) is kept in the API's idempotency record with the outcome,
    so the form submitted twice acts once and shows the first submission's outcome again."""

    def outcome() -> dict:
        try:
            action()
        except DomainError as exc:
            if exc.status == 404 or exc.status >= 500:  # not kept: the key is freed
                raise
            return {"status": exc.status, "detail": exc.detail}
        return {"done": done}

    key = request.form.get(FORM_KEY, "") if keyed else ""
    try:
        if key:
            fingerprint = hashlib.sha256(
                repr((request.path, sorted(request.form.items(multi=True)))).encode()
            ).hexdigest()
            result = idempotency.once(f"page:staff:{g.staff.id}", key, fingerprint, outcome)
        else:
            result = outcome()
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _claim_page(
            claim_id, exc.status, FORM_KEY_MESSAGES.get(exc.code, exc.detail), posted=done
        )
    if "done" in result:
        return redirect(url_for("review.claim", claim_id=claim_id, done=result["done"]))
    return _claim_page(claim_id, result["status"], result["detail"], posted=done)


@blp.post("/<int:claim_id>/assign")
@staff_page("reviewer", "operator")
def assign(claim_id: int):
    def run():
        body = _load(
            AssignSchema(), {k: v for k, v in request.form.items() if k == "staff_id" and v}
        )
        services.assign(g.staff, claim_id, body.get("staff_id"))

    # An operator hands the claim to a reviewer; a reviewer takes it (no staff_id, or their own).
    chosen = request.form.get("staff_id", "").strip()
    done = "assigned_to" if chosen and chosen != str(g.staff.id) else "assigned"
    return _act(claim_id, done, run)


@blp.post("/<int:claim_id>/approve")
@staff_page("reviewer")
def approve(claim_id: int):
    def run():
        sent = {"reason": request.form.get("reason", "")}
        expected = request.form.get("expected_payable_fen", "").strip()
        if expected:  # the figure the page showed (a hidden input): as the API's integer
            sent["expected_payable_fen"] = int(expected) if _FEN.fullmatch(expected) else expected
        body = _load(ClaimApproveSchema(), sent, "approved")
        services.approve(g.staff, claim_id, body["reason"], body["expected_payable_fen"])

    return _act(claim_id, "approved", run, keyed=True)


@blp.post("/<int:claim_id>/reject")
@staff_page("reviewer")
def reject(claim_id: int):
    def run():
        body = _load(
            RejectSchema(),
            {
                "reason_code": request.form.get("reason_code", ""),
                "reason": request.form.get("reason", ""),
            },
            "rejected",
        )
        services.reject(g.staff, claim_id, body["reason_code"], body["reason"])

    return _act(claim_id, "rejected", run)


@blp.post("/<int:claim_id>/request-info")
@staff_page("reviewer")
def request_info(claim_id: int):
    def run():
        body = _load(
            InfoRequestCreateSchema(),
            {
                "message": request.form.get("message", ""),
                "documents": request.form.getlist("documents"),
            },
        )
        services.request_info(g.staff, claim_id, body["message"], body["documents"])

    return _act(claim_id, "info", run)


@blp.post("/<int:claim_id>/health-determination")
@staff_page("reviewer")
def redetermine(claim_id: int):
    def run():
        body = _load(
            RedetermineSchema(),
            {"health": request.form.get("health", ""), "reason": request.form.get("reason", "")},
            "health",
        )
        services.redetermine(g.staff, claim_id, body["health"], body["reason"])

    return _act(claim_id, "health", run)


# --- itemised lines ----------------------------------------------------------------------------


@blp.get("/<int:claim_id>/lines")
@staff_page("reviewer")
def lines(claim_id: int):
    claim = services.staff_get(g.staff, claim_id)
    view = StaffClaimSchema().dump(claim)
    if view["assigned_staff_id"] != g.staff.id:
        return _claim_page(claim_id, 409, "请先领取该理赔，再录入费用明细")
    return render_template("web/review/lines.html", c=view)


@blp.put("/<int:claim_id>/lines")
@staff_page("reviewer")
def put_lines(claim_id: int):
    """JSON from console's lines editor (X-CSRF-Token): the API's body, the API's service."""
    try:
        sent = request.get_json(silent=True)
    except RecursionError:  # nested deeper than json.loads goes: as a body that is not JSON
        sent = None
    body = _load(StaffLinesBodySchema(), sent or {}, "lines")
    items = body["lines"]
    line_intake.staff_lines(
        g.staff, claim_id, lambda: line_intake.json_lines(items), body["reason"]
    )
    return {"redirect": url_for("review.claim", claim_id=claim_id, done="lines")}


# --- documents ---------------------------------------------------------------------------------


@blp.get("/<int:claim_id>/documents/<int:document_id>")
@staff_page("reviewer")
def document(claim_id: int, document_id: int):
    """The stored document, for the claim page to show inline; only to the reviewer the claim
    is assigned to, audited (the API's service)."""
    doc, data = services.staff_document(g.staff, claim_id, document_id)
    ext = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(
        doc.media_type, "bin"
    )
    headers = {
        "Content-Disposition": f'inline; filename="document-{doc.id}.{ext}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    # Images never run anything: a sandboxed answer. A PDF needs the browser's viewer, which a
    # sandbox blocks; it stays same-origin-framed only (frame-ancestors) and script-free
    # (the upload refused active content, app/documents/pdf.py).
    headers["Content-Security-Policy"] = (
        "sandbox" if doc.media_type != "application/pdf" else "frame-ancestors 'self'"
    )
    return Response(data, mimetype=doc.media_type, headers=headers)
