"""The reviewer's workspace pages: queue filters and search, the claim page, documents inline,
the decisions, the itemised-line editor; each through the claims services the API uses."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.claims.models import Claim, ClaimTransition, Payout
from app.database import get_session
from app.demo.residents import generate
from app.identity.idnumber import mask
from tests import factories
from tests.web.conftest import FILED_AT
from tests.web.support import signed_in

DOC_URL = re.compile(r"/console/claims/\d+/documents/\d+")


def _claim(app, claim_id: int) -> Claim:
    with app.app_context():
        claim = get_session().get(Claim, claim_id)
        get_session().expunge_all()
        return claim


def _actions(app) -> list[str]:
    with app.app_context():
        rows = get_session().scalars(select(AuditEvent.action)).all()
        get_session().rollback()
        return list(rows)


@pytest.fixture
def reviewer(seeded):
    client = seeded.test_client()
    return client, signed_in(client, "demo-reviewer")


def _queue(client, **query) -> str:
    resp = client.get("/console/claims", query_string=query)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_queue_filters_and_search(seeded, pending_claim, reviewer):
    client, _ = reviewer
    no = pending_claim["claim_no"]
    assert no in _queue(client)
    assert no in _queue(client, claim_no=no[:10])
    assert no in _queue(client, claim_no=no.lower())
    assert no not in _queue(client, claim_no="CL19990101")
    assert no in _queue(client, insured="*娜")
    assert no in _queue(client, insured="李娜")  # a full name is compared by its mask
    assert no not in _queue(client, insured="*伟")
    assert no in _queue(client, assigned="unassigned")
    assert no not in _queue(client, assigned="me")
    assert no in _queue(client, care_kind="day_surgery")
    assert no not in _queue(client, care_kind="in_patient")
    assert no not in _queue(client, flag="duplicate_invoice")
    assert no not in _queue(client, status="paid")
    with time_machine.travel("2026-11-30T03:00:00+00:00", tick=False):
        assert no in _queue(client, min_age_days=7)
        assert no not in _queue(client, min_age_days=8)


def test_queue_with_a_bad_filter_says_so(seeded, pending_claim, reviewer):
    client, _ = reviewer
    page = _queue(client, min_age_days="0")
    assert "提交的信息有误" in page and pending_claim["claim_no"] not in page


def test_claim_page_shows_the_claim_masked_and_audits_the_read(seeded, pending_claim, reviewer):
    client, _ = reviewer
    resp = client.get(f"/console/claims/{pending_claim['id']}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for part in ("基本信息", "医保结算记录", "理算说明", "费用明细", "处理记录", "风险标记"):
        assert part in page
    assert "*娜" in page and "80,000.00" in page
    assert "**** **** 3445" in page and "6222020200112233445" not in page
    assert not DOC_URL.search(page)  # documents only once the claim is the reviewer's
    assert "领取此理赔" in page
    assert _actions(seeded).count("claim.read") == 1


def test_take_view_documents_and_approve_to_payment(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    taken = client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    assert taken.status_code == 302
    page = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "已领取该理赔" in page
    urls = sorted(set(DOC_URL.findall(page)))
    assert len(urls) == 3
    doc = client.get(urls[0])
    assert doc.status_code == 200 and doc.mimetype == "image/jpeg"
    assert doc.data[:3] == b"\xff\xd8\xff"
    assert doc.headers["Content-Security-Policy"] == "sandbox"
    assert doc.headers["Content-Disposition"].startswith("inline;")
    assert _actions(seeded).count("claim.document.read") == 1

    approved = client.post(
        f"/console/claims/{claim_id}/approve", data={"csrf_token": token, "reason": "材料齐全"}
    )
    assert approved.status_code == 302
    assert "已核准" in client.get(approved.headers["Location"]).get_data(as_text=True)
    claim = _claim(seeded, claim_id)
    assert claim.status == "paid" and claim.paid_fen == claim.approved_fen > 0
    # Sent again (a double click): the state machine refuses, nothing is paid twice.
    again = client.post(
        f"/console/claims/{claim_id}/approve", data={"csrf_token": token, "reason": "材料齐全"}
    )
    assert again.status_code == 409 and "已赔付" in again.get_data(as_text=True)
    assert _claim(seeded, claim_id).paid_fen == claim.paid_fen


FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def _count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model).filter_by(**where)
        return get_session().scalar(query)


def test_the_approve_form_submitted_twice_approves_once(seeded, pending_claim, reviewer):
    """The approve form's one-time key (a hidden input) is kept like the API's Idempotency-Key:
    the same form sent twice (a double click, a resubmission) approves and pays once, and the
    second answer is the first one again."""
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    page = client.get(f"/console/claims/{claim_id}").get_data(as_text=True)
    [key] = FORM_KEY.findall(page)
    assert FORM_KEY.findall(client.get(f"/console/claims/{claim_id}").get_data(as_text=True)) != [
        key
    ]  # a fresh key with each page
    form = {"csrf_token": token, "form_key": key, "reason": "材料齐全"}
    first = client.post(f"/console/claims/{claim_id}/approve", data=form)
    audit_after_first = _actions(seeded)
    second = client.post(f"/console/claims/{claim_id}/approve", data=form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith("done=approved")
    assert _actions(seeded) == audit_after_first  # the second wrote nothing
    assert _count(seeded, ClaimTransition, claim_id=claim_id, action="approve") == 1
    assert _count(seeded, Payout, claim_id=claim_id) == 1
    assert _claim(seeded, claim_id).status == "paid"
    # The same key with another reason: refused on the page, still one approval.
    other = client.post(f"/console/claims/{claim_id}/approve", data={**form, "reason": "改了"})
    assert other.status_code == 422
    assert "该表单已提交过不同的内容" in other.get_data(as_text=True)
    assert _count(seeded, ClaimTransition, claim_id=claim_id, action="approve") == 1


def test_decisions_need_the_claim_assigned(seeded, pending_claim, reviewer):
    client, token = reviewer
    resp = client.post(
        f"/console/claims/{pending_claim['id']}/approve",
        data={"csrf_token": token, "reason": "材料齐全"},
    )
    assert resp.status_code == 409 and "请先将该理赔申请分配给自己" in resp.get_data(as_text=True)
    assert _claim(seeded, pending_claim["id"]).status == "pending_review"


def test_reject_with_a_reason_code(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    bad = client.post(
        f"/console/claims/{claim_id}/reject",
        data={"csrf_token": token, "reason_code": "because", "reason": "不予赔付"},
    )
    assert bad.status_code == 422 and "reason_code" in bad.get_data(as_text=True)
    assert _claim(seeded, claim_id).status == "pending_review"
    done = client.post(
        f"/console/claims/{claim_id}/reject",
        data={"csrf_token": token, "reason_code": "not_covered", "reason": "不属于保险责任"},
    )
    assert done.status_code == 302
    assert _claim(seeded, claim_id).status == "rejected"


def test_request_information(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    resp = client.post(
        f"/console/claims/{claim_id}/request-info",
        data={"csrf_token": token, "message": "请补充费用明细清单", "documents": "itemised_bill"},
    )
    assert resp.status_code == 302
    claim = _claim(seeded, claim_id)
    assert claim.status == "more_info_requested"
    assert claim.info_request["documents"] == ["itemised_bill"]


def test_override_the_pre_existing_determination(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    resp = client.post(
        f"/console/claims/{claim_id}/health-determination",
        data={"csrf_token": token, "health": "pre_existing", "reason": "病历记载投保前已确诊"},
    )
    assert resp.status_code == 302
    claim = _claim(seeded, claim_id)
    assert (claim.health, claim.health_set_by) == ("pre_existing", "reviewer")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "更改既往症认定" in page and "病历记载投保前已确诊" in page


def test_a_refused_decision_says_which_field_in_chinese_and_keeps_what_was_typed(
    seeded, pending_claim, reviewer
):
    """A reason pasted with a tab (a control character the schema refuses) or left as spaces:
    the page names the field as the form does (not `reason`), and the text the reviewer typed,
    the reason code and the ticked documents are still in the form, in that form only."""
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    resp = client.post(
        f"/console/claims/{claim_id}/reject",
        data={
            "csrf_token": token,
            "reason_code": "documents_invalid",
            "reason": "发票\t与病历不符",
        },
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "给会员的说明：" in html and "reason：" not in html
    reject = html[html.index(f'action="/console/claims/{claim_id}/reject"') :]
    reject = reject[: reject.index("</form>")]
    assert 'value="发票\t与病历不符"' in reject
    assert re.search(r'value="documents_invalid"\s+selected', reject)
    approve = html[html.index('id="approve-form"') :]
    assert 'value="材料齐全，金额核对无误"' in approve[: approve.index("</form>")]  # its default

    resp = client.post(
        f"/console/claims/{claim_id}/request-info",
        data={"csrf_token": token, "message": "   ", "documents": ["itemised_bill", "invoice"]},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "需补充的说明：" in html and "message：" not in html
    assert re.search(r'value="itemised_bill"\s+checked', html)
    assert re.search(r'value="invoice"\s+checked', html)
    assert _claim(seeded, claim_id).status == "pending_review"


def test_itemised_lines_entry(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    editor = client.get(f"/console/claims/{claim_id}/lines")
    assert editor.status_code == 200 and "录入费用明细" in editor.get_data(as_text=True)
    own = {
        "med_list_codg": "X0001",
        "name": "自费耗材",
        "chrgitm_lv": "03",
        "det_item_fee_sumamt_fen": 1_000_000,
        "fulamt_ownpay_amt_fen": 1_000_000,
    }
    covered = {
        "med_list_codg": "A0001",
        "name": "手术费",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt_fen": 7_000_000,
        "inscp_scp_amt_fen": 7_000_000,
    }
    body = {"lines": [own, covered], "reason": "按医院费用明细清单录入"}
    headers = {"X-CSRF-Token": token}
    refused = client.put(f"/console/claims/{claim_id}/lines", json=body)
    assert refused.status_code == 403  # no CSRF header
    short = client.put(f"/console/claims/{claim_id}/lines", json=body, headers=headers)
    assert short.status_code == 422 and short.mimetype == "application/problem+json"
    own["det_item_fee_sumamt_fen"] = own["fulamt_ownpay_amt_fen"] = 1_500_000
    covered["det_item_fee_sumamt_fen"] = covered["inscp_scp_amt_fen"] = 6_500_000
    done = client.put(f"/console/claims/{claim_id}/lines", json=body, headers=headers)
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"redirect": f"/console/claims/{claim_id}?done=lines"}
    page = client.get(done.get_json()["redirect"]).get_data(as_text=True)
    assert "费用明细（2 条）" in page and "X0001" in page
    assert "claim.lines.replaced" in _actions(seeded)


def test_a_bad_itemised_line_is_named_by_row_and_column(seeded, pending_claim, reviewer):
    """The editor's row errors read 第 N 行 + the column's heading; they read "lines：0"."""
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    good = {"med_list_codg": "A0001", "chrgitm_lv": "01", "det_item_fee_sumamt_fen": 8_000_000}
    bad = {"chrgitm_lv": "01", "cnt": "abc", "det_item_fee_sumamt_fen": 1}  # no code
    resp = client.put(
        f"/console/claims/{claim_id}/lines",
        json={"lines": [good, bad], "reason": "\t"},
        headers={"X-CSRF-Token": token},
    )
    assert resp.status_code == 422
    detail = resp.get_json()["detail"]
    assert "费用明细第 2 行医保目录编码：" in detail and "费用明细第 2 行数量：" in detail
    assert "录入原因：" in detail and "lines" not in detail


def test_lines_nested_too_deeply_for_json_are_a_422_not_a_500(seeded, pending_claim, reviewer):
    client, token = reviewer
    claim_id = pending_claim["id"]
    client.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    resp = client.put(
        f"/console/claims/{claim_id}/lines",
        data="[" * 5000,
        content_type="application/json",
        headers={"X-CSRF-Token": token},
    )
    assert resp.status_code == 422, resp.get_data(as_text=True)[:200]


def test_operator_reads_and_assigns_but_does_not_decide(seeded, pending_claim):
    client = seeded.test_client()
    token = signed_in(client, "demo-operator")
    claim_id = pending_claim["id"]
    page = client.get(f"/console/claims/{claim_id}").get_data(as_text=True)
    assert "分配给审核员" in page and "核准并支付" not in page
    reviewer_id = factories.staff_principal(seeded, "demo-reviewer").id
    resp = client.post(
        f"/console/claims/{claim_id}/assign",
        data={"csrf_token": token, "staff_id": str(reviewer_id)},
    )
    assert resp.status_code == 302
    assert _claim(seeded, claim_id).assigned_staff_id == reviewer_id
    # The notice says what the operator did (it said "已领取该理赔", as if they had taken it).
    done = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已分配给审核员" in done and "已领取该理赔" not in done
    denied = client.post(
        f"/console/claims/{claim_id}/approve", data={"csrf_token": token, "reason": "x"}
    )
    assert denied.status_code == 403
    assert client.get(f"/console/claims/{claim_id}/documents/1").status_code == 403


def test_no_page_carries_an_id_number(seeded, pending_claim):
    """The pages a reviewer and an operator open along the whole flow: no ID number of the
    people involved, whole or without its check character; masked where shown at all."""
    residents = {r.name: r for r in generate()[:11]}
    numbers = [residents[n].certno for n in ("张伟", "李娜")]
    reviewer = seeded.test_client()
    token = signed_in(reviewer, "demo-reviewer")
    operator = seeded.test_client()
    signed_in(operator, "demo-operator")
    claim_id = pending_claim["id"]
    pages = []
    for client in (reviewer, operator):
        pages += [client.get(p) for p in ("/console/", "/console/claims", "/console/accounts")]
        pages.append(client.get(f"/console/claims/{claim_id}"))
    reviewer.post(f"/console/claims/{claim_id}/assign", data={"csrf_token": token})
    pages.append(reviewer.get(f"/console/claims/{claim_id}"))
    pages.append(reviewer.get(f"/console/claims/{claim_id}/lines"))
    with time_machine.travel(FILED_AT, tick=True):
        pages.append(reviewer.get("/console/claims", query_string={"insured": "李娜"}))
    assert any(pending_claim["claim_no"] in p.get_data(as_text=True) for p in pages)
    for resp in pages:
        text = resp.get_data(as_text=True) + str(resp.headers)
        for number in numbers:
            assert number not in text and number[:17] not in text, resp.request.path
            # a masked number may be shown, but only as mask() shows it: 4 + 10 stars + 4
            shown = re.findall(re.escape(number[:4]) + r"[0-9*]{10}" + re.escape(number[-4:]), text)
            assert all(run == mask(number) for run in shown), (resp.request.path, shown)


def test_the_api_queue_takes_the_same_search(seeded, pending_claim):
    """GET /staff/claims has the page's filters (one queue service for both)."""
    headers = {"Authorization": f"Bearer {factories.staff_token(seeded, 'demo-reviewer')}"}
    client = seeded.test_client()

    def ids(**query):
        resp = client.get("/staff/claims", query_string=query, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return [c["id"] for c in resp.get_json()]

    mine = [pending_claim["id"]]
    assert ids(claim_no=pending_claim["claim_no"][:12]) == mine
    assert ids(insured="*娜") == mine and ids(insured="*伟") == []
    bad = client.get("/staff/claims", query_string={"min_age_days": 0}, headers=headers)
    assert bad.status_code == 422
