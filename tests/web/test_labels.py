"""No English code on a Chinese page: every code list a console page shows has a Chinese label for
each of its codes (a new code without one fails here), the pages show the labels (a claim's
history with a reversal, its flag badges), and a refused choice in a form is said with labels.

The flags have no list of their own: the claims code raises them where it finds them, so the
walk reads app/ (`ast`) for every flag it can raise: `Flag("code", ...)`, a flag dict
`{"code": "...", "zh": ...}` and the `..._FLAG = "code"` / `FLAG = "code"` constants."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pytest
from sqlalchemy import update

from app.adjudication.model import DECISIONS, HEALTH_STATUSES
from app.auth.models import STAFF_ROLES
from app.auth.services import KIND_LABELS, ROLE_LABELS
from app.campaigns.models import CAMPAIGN_STATUSES
from app.campaigns.rules import CATEGORY_LABELS, EFFECTIVE_STATUSES, KNOWN_CATEGORIES
from app.catalogues.matching import CHARGE_LEVELS
from app.claims.line_models import LINE_SOURCES
from app.claims.models import ACTOR_TYPES, Claim, ClaimTransition
from app.claims.schemas import QueueQuerySchema
from app.claims.statuses import ClaimStatus
from app.claims.workflow import REJECT_REASON_LABELS, REJECT_REASONS, STATUS_LABELS, TRANSITIONS
from app.database import get_session
from app.documents.types import DOCUMENT_TYPE_LABELS, DOCUMENT_TYPES
from app.jobs.models import JOB_STATUSES
from app.products.definition import CARE_KINDS
from app.sponsors.models import PROGRAMME_STATUSES, RULE_KINDS
from app.sponsors.statuses import ORGANISATION_KINDS
from app.web import labels, sponsor
from tests.web.support import signed_in

APP = Path(__file__).resolve().parents[2] / "app"


def _flag_codes() -> set[str]:
    """Every flag code app/ can raise, read from its source (a code held in a variable counts when
    the variable is a module constant)."""
    found: set[str] = set()
    constants: dict[str, set[str]] = {}
    named: set[str] = set()  # constant names used as a flag's code
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module constants (FLAG = "same_episode")
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        constants.setdefault(target.id, set()).add(str(node.value.value))
        for node in ast.walk(tree):
            code = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name == "Flag":
                    code = node.args[0]
            elif isinstance(node, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
                if set(keys) == {"code", "zh"} and len(keys) == 2:
                    code = node.values[keys.index("code")]
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.add(code.value)
            elif isinstance(code, ast.Name | ast.Attribute):
                named.add(code.id if isinstance(code, ast.Name) else code.attr)
    return found.union(*(constants.get(n, set()) for n in named))


def test_every_flag_the_claims_code_raises_has_a_label():
    codes = _flag_codes()
    # The scan finds what it must (so a broken scan cannot pass by finding nothing) ...
    for known in ("duplicate_invoice", "same_episode", "fee_details_inconsistent", "payout_failed"):
        assert known in codes
    # ... and every one of them has its label.
    assert codes - set(labels.FLAG_LABELS) == set()


@pytest.mark.parametrize(
    ("name", "codes", "shown"),
    [
        ("claim statuses", {s.value for s in ClaimStatus}, STATUS_LABELS),
        (
            "claim actions (处理记录)",
            {action for _, action in TRANSITIONS},
            labels.TRANSITION_LABELS,
        ),
        ("who acted", set(ACTOR_TYPES), labels.ACTOR_LABELS),
        ("engine decisions", set(DECISIONS), labels.DECISION_LABELS),
        ("kinds of care", set(CARE_KINDS), labels.CARE_KIND_LABELS),
        ("health", set(HEALTH_STATUSES), labels.HEALTH_LABELS),
        ("rejection reasons", set(REJECT_REASONS), REJECT_REASON_LABELS),
        ("documents", set(DOCUMENT_TYPES), DOCUMENT_TYPE_LABELS),
        ("fee line levels", set(CHARGE_LEVELS), labels.CHARGE_LEVEL_LABELS),
        ("fee line sources", set(LINE_SOURCES), labels.LINE_SOURCE_LABELS),
        (
            "queue assignment",
            set(QueueQuerySchema().fields["assigned"].validate.choices),
            labels.ASSIGNED_LABELS,
        ),
        ("staff roles", set(STAFF_ROLES), ROLE_LABELS),
        ("organisation kinds", set(ORGANISATION_KINDS), KIND_LABELS),
        ("programme statuses", set(PROGRAMME_STATUSES), sponsor.PROGRAMME_STATUS_LABELS),
        ("funding rules", set(RULE_KINDS), sponsor.RULE_LABELS),
        ("batch job statuses", set(JOB_STATUSES), sponsor.JOB_STATUS_LABELS),
        (
            "campaign statuses",
            set(CAMPAIGN_STATUSES) | set(EFFECTIVE_STATUSES),
            sponsor.CAMPAIGN_STATUS_LABELS,
        ),
        ("eligibility categories", set(KNOWN_CATEGORIES), CATEGORY_LABELS),
    ],
)
def test_every_code_a_page_shows_has_a_chinese_label(name, codes, shown):
    assert codes, name
    missing = codes - set(shown)
    assert missing == set(), f"{name}: no Chinese label for {sorted(missing)}"
    assert all(re.search(r"[\u4e00-\u9fff]", shown[c]) for c in codes), name


def test_the_queue_filters_offer_every_status_the_queue_takes():
    taken = set(QueueQuerySchema().fields["status"].validate.choices)
    assert taken == set(labels.QUEUE_STATUSES)


# --- the pages ----------------------------------------------------------------------------------

CODE_WORD = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")  # duplicate_invoice, pending_review ...


def _visible(page: str) -> str:
    """The text a person reads: no scripts, styles, tags or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def reviewer(seeded):
    client = seeded.test_client()
    return client, signed_in(client, "demo-reviewer")


def test_the_claim_page_shows_a_reversal_and_flags_in_chinese(seeded, pending_claim, reviewer):
    """A claim whose settlement the bureau reversed, flagged as a duplicate invoice and the same
    episode as another claim (the stored row as the pipeline leaves it)."""
    client, _ = reviewer
    claim_id = pending_claim["id"]
    with seeded.app_context():
        s = get_session()
        flags = [
            {"code": "duplicate_invoice", "zh": "发票 赣州市人民医院/1 已在其他理赔申请中使用"},
            {"code": "same_episode", "zh": "与理赔 CL1 为同一次就医"},
        ]
        s.execute(update(Claim).where(Claim.id == claim_id).values(flags=flags))
        for action, before, after in (("pay", "approved", "paid"), ("reverse", "paid", "rejected")):
            s.add(
                ClaimTransition(
                    claim_id=claim_id,
                    action=action,
                    from_status=before,
                    to_status=after,
                    actor_type="system",
                    reason="定点医院撤销结算",
                )
            )
        s.commit()
    page = client.get(f"/console/claims/{claim_id}").get_data(as_text=True)
    history = _visible(re.search(r'id="history".*?</section>', page, re.S).group(0))
    assert "撤销结算" in history and "reverse" not in history
    flag_card = _visible(re.search(r'id="flags".*?</section>', page, re.S).group(0))
    assert "发票重复使用" in flag_card and "同一次就医" in flag_card
    assert CODE_WORD.findall(_visible(page)) == []
    queue = client.get("/console/claims").get_data(as_text=True)
    assert "发票重复使用" in _visible(queue) and CODE_WORD.findall(_visible(queue)) == []


def test_a_rejection_reads_its_reason_in_chinese(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    client.post(
        f"/console/claims/{claim_id}/reject",
        data={"csrf_token": token, "reason_code": "documents_invalid", "reason": "发票无法核实"},
    )
    page = _visible(client.get(f"/console/claims/{claim_id}").get_data(as_text=True))
    assert "材料无效或不实：发票无法核实" in page and CODE_WORD.findall(page) == []


@pytest.mark.parametrize(
    ("path", "form", "said"),
    [
        ("/console/claims?status=nope", None, "人工审核中"),
        ("/console/claims?care_kind=nope", None, "住院"),
        ("/console/claims?assigned=nope", None, "分配给我"),
        ("{claim}/reject", {"reason_code": "nope", "reason": "x"}, "材料无效或不实"),
        ("{claim}/health-determination", {"health": "nope", "reason": "x"}, "既往症"),
        ("{claim}/request-info", {"message": "x", "documents": "nope"}, "出院小结"),
    ],
)
def test_a_refused_choice_is_said_with_labels(seeded, pending_claim, reviewer, path, form, said):
    client, token = reviewer
    claim = f"/console/claims/{pending_claim['id']}"
    client.post(f"{claim}/assign", data={"csrf_token": token})
    if form is None:
        resp = client.get(path)
    else:
        resp = client.post(path.format(claim=claim), data={"csrf_token": token, **form})
    error = _visible(
        re.search(r'class="notice error".*?</div>', resp.get_data(as_text=True), re.S)[0]
    )
    assert "应为以下之一" in error and said in error, error
    assert CODE_WORD.findall(error) == [] and "nope" not in error


def test_a_refused_role_is_said_with_labels(seeded):
    client = seeded.test_client()
    token = signed_in(client, "demo-operator")
    resp = client.post(
        "/console/accounts",
        data={"csrf_token": token, "username": "x-1", "role": "nope", "password": "p" * 16},
    )
    error = _visible(
        re.search(r'class="notice error".*?</div>', resp.get_data(as_text=True), re.S)[0]
    )
    assert resp.status_code == 422 and "理赔审核员" in error and "reviewer" not in error
