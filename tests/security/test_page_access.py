"""Object-level access for the pages (app/web), as test_object_access.py is for the API: a page
given an object the caller may not reach answers exactly as the API does for the same caller and
object (a draft claim, a claim or document of another reviewer, an unknown id: 404; a decision
on a claim assigned to someone else: the API's 409), and changes nothing. Every page route with
an id in its path needs a case here (`test_every_page_id_route_has_a_case`)."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app.claims.models import Claim
from app.database import get_session
from app.jobs.models import Job
from app.sponsors.roster_models import RosterEntry, RosterUpload
from tests import factories
from tests.enrollment.conftest import frozen, terms_version  # noqa: F401  (fixture)
from tests.jobs.support import eligible, roster_csv
from tests.security.support import page_routes, sponsor_objects
from tests.web.conftest import claim_documents, file_claim, make_pending_claim
from tests.web.support import signed_in

UNKNOWN = 2**31 - 1


@dataclass
class World:
    app: object
    client: object  # demo-reviewer's console session
    token: str  # its CSRF token
    api: dict  # demo-reviewer's bearer header
    mine: int  # a claim assigned to demo-reviewer
    others: int  # a claim assigned to another reviewer
    draft: int  # a draft claim (never visible to staff)
    others_document: int
    operator: object
    operator_token: str
    sponsor: dict  # a charity's objects (tests/security/support.py sponsor_objects)
    admin: object  # another organisation's admin's console session
    admin_token: str  # its CSRF token
    admin_api: dict  # that admin's bearer header


@pytest.fixture
def world(seeded, frozen) -> World:
    first = make_pending_claim(seeded)
    factories.assign_claim(seeded, "demo-reviewer", first["id"])
    factories.staff_account(seeded, "other-reviewer", "reviewer")
    second = file_claim(seeded, first["member_id"], first["policy_id"], "36000026009999")
    factories.assign_claim(seeded, "other-reviewer", second["id"])
    draft = file_claim(seeded, first["member_id"], first["policy_id"], "3600002600777", False)
    client = seeded.test_client()
    operator = seeded.test_client()
    factories.org_admin(seeded, "access-charity-admin")
    sponsor = sponsor_objects(seeded, "access-charity-admin", terms_version(client))
    factories.org_admin(seeded, "access-employer-admin", role="employer_admin")
    admin = seeded.test_client()
    return World(
        seeded,
        client,
        signed_in(client, "demo-reviewer"),
        {"Authorization": f"Bearer {factories.staff_token(seeded, 'demo-reviewer')}"},
        first["id"],
        second["id"],
        draft["id"],
        claim_documents(seeded, second["id"])[0],
        operator,
        signed_in(operator, "demo-operator"),
        sponsor,
        admin,
        signed_in(admin, "access-employer-admin", factories.STAFF_PASSWORD),
        {"Authorization": f"Bearer {factories.staff_token(seeded, 'access-employer-admin')}"},
    )


def _state(app, claim_id: int) -> tuple:
    with app.app_context():
        c = get_session().get(Claim, claim_id)
        state = (c.status, c.assigned_staff_id, c.health, c.updated_at)
        get_session().rollback()
        return state


CASES: dict[tuple[str, str], Callable[[World], None]] = {}


def case(rule: str, method: str):
    def register(func):
        CASES[(rule, method)] = func
        return func

    return register


def _same_as_api(world: World, page_resp, api_resp, status: int) -> None:
    assert page_resp.status_code == api_resp.status_code == status, (
        page_resp.status_code,
        api_resp.status_code,
        api_resp.get_json(),
    )


@case("/console/claims/<int:claim_id>", "GET")
def _read_claim(world: World):
    for claim_id in (world.draft, UNKNOWN):
        page = world.client.get(f"/console/claims/{claim_id}")
        api = world.app.test_client().get(f"/staff/claims/{claim_id}", headers=world.api)
        _same_as_api(world, page, api, 404)


@case("/console/claims/<int:claim_id>/documents/<int:document_id>", "GET")
def _read_document(world: World):
    for claim_id, doc_id in (
        (world.others, world.others_document),  # another reviewer's claim
        (world.mine, world.others_document),  # my claim, another claim's document
        (world.draft, 1),
    ):
        page = world.client.get(f"/console/claims/{claim_id}/documents/{doc_id}")
        api = world.app.test_client().get(
            f"/staff/claims/{claim_id}/documents/{doc_id}", headers=world.api
        )
        _same_as_api(world, page, api, 404)
        assert page.mimetype == "text/html"  # the error page, never the file


def _decision(action: str, form: dict, api_body: dict, idempotent: bool = False):
    def check(world: World):
        for claim_id, status in ((world.others, 409), (world.draft, 404), (UNKNOWN, 404)):
            before = _state(world.app, claim_id) if claim_id != UNKNOWN else None
            page = world.client.post(
                f"/console/claims/{claim_id}/{action}", data={**form, "csrf_token": world.token}
            )
            api = world.app.test_client().post(
                f"/staff/claims/{claim_id}/{action}",
                json=api_body,
                headers={
                    **world.api,
                    **({"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}),
                },
            )
            _same_as_api(world, page, api, status)
            if before is not None:
                assert _state(world.app, claim_id) == before

    return check


REASON = {"reason": "材料齐全"}
CASES[("/console/claims/<int:claim_id>/approve", "POST")] = _decision(
    "approve", REASON, REASON, idempotent=True
)
CASES[("/console/claims/<int:claim_id>/reject", "POST")] = _decision(
    "reject",
    {"reason_code": "not_covered", "reason": "x"},
    {"reason_code": "not_covered", "reason": "x"},
)
CASES[("/console/claims/<int:claim_id>/request-info", "POST")] = _decision(
    "request-info", {"message": "请补充"}, {"message": "请补充", "documents": []}
)
CASES[("/console/claims/<int:claim_id>/health-determination", "POST")] = _decision(
    "health-determination",
    {"health": "pre_existing", "reason": "x"},
    {"health": "pre_existing", "reason": "x"},
)


@case("/console/claims/<int:claim_id>/assign", "POST")
def _assign(world: World):
    for claim_id in (world.draft, UNKNOWN):
        page = world.client.post(
            f"/console/claims/{claim_id}/assign", data={"csrf_token": world.token}
        )
        api = world.app.test_client().post(
            f"/staff/claims/{claim_id}/assign", json={}, headers=world.api
        )
        _same_as_api(world, page, api, 404)


@case("/console/claims/<int:claim_id>/lines", "GET")
def _lines_page(world: World):
    assert world.client.get(f"/console/claims/{world.draft}/lines").status_code == 404
    assert world.client.get(f"/console/claims/{UNKNOWN}/lines").status_code == 404
    other = world.client.get(f"/console/claims/{world.others}/lines")
    assert other.status_code == 409 and "X0001" not in other.get_data(as_text=True)


@case("/console/claims/<int:claim_id>/lines", "PUT")
def _lines_put(world: World):
    body = {
        "lines": [
            {
                "med_list_codg": "X0001",
                "chrgitm_lv": "03",
                "det_item_fee_sumamt_fen": 8_000_000,
                "fulamt_ownpay_amt_fen": 8_000_000,
            }
        ],
        "reason": "x",
    }
    for claim_id, status in ((world.others, 409), (world.draft, 404), (UNKNOWN, 404)):
        page = world.client.put(
            f"/console/claims/{claim_id}/lines", json=body, headers={"X-CSRF-Token": world.token}
        )
        api = world.app.test_client().put(
            f"/staff/claims/{claim_id}/lines", json=body, headers=world.api
        )
        _same_as_api(world, page, api, status)


def _account(action: str | None, form: dict | None = None):
    def check(world: World):
        path = f"/console/accounts/{UNKNOWN}" + (f"/{action}" if action else "")
        if action is None:
            resp = world.operator.get(path)
        else:
            resp = world.operator.post(
                path, data={**(form or {}), "csrf_token": world.operator_token}
            )
        assert resp.status_code == 404 and "员工账号不存在" in resp.get_data(as_text=True)

    return check


CASES[("/console/accounts/<int:account_id>", "GET")] = _account(None)
CASES[("/console/accounts/<int:account_id>/disable", "POST")] = _account("disable")
CASES[("/console/accounts/<int:account_id>/enable", "POST")] = _account("enable")
CASES[("/console/accounts/<int:account_id>/password", "POST")] = _account(
    "password", {"password": "long-enough-password"}
)
CASES[("/console/accounts/<int:account_id>/role", "POST")] = _account("role", {"role": "reviewer"})
CASES[("/console/accounts/<int:account_id>/login-lock/release", "POST")] = _account(
    "login-lock/release"
)


def _sponsor_state(app, programme_id: int) -> tuple:
    """What a sponsor POST would change: the programme's roster, uploads and jobs."""
    with app.app_context():
        session = get_session()
        state = tuple(
            session.scalar(
                select(func.count()).select_from(model).where(model.programme_id == programme_id)
            )
            for model in (RosterEntry, RosterUpload, Job)
        )
        session.rollback()
        return state


def _sponsor(page: str, api: tuple[str, str] | None, form: Callable[[], dict] | None = None):
    """Another organisation's object (and an unknown one) through the page as that other
    organisation's admin: 404, as the API route naming the same object answers that admin; a
    POST changes nothing. `page` and the API path are formatted with the charity's ids."""

    def check(world: World):
        own = world.sponsor
        for ids in (own, {key: UNKNOWN for key in own}):
            before = _sponsor_state(world.app, own["programme_id"])
            url = "/console/sponsor" + page.format(**ids)
            if form is None:
                resp = world.admin.get(url)
            else:
                resp = world.admin.post(url, data={**form(), "csrf_token": world.admin_token})
            assert resp.status_code == 404, (url, resp.status_code)
            assert resp.mimetype == "text/html"  # the error page, never the file
            if api is not None:
                method, path = api
                api_resp = world.app.test_client().open(
                    path.format(**ids),
                    method=method,
                    headers={**world.admin_api, "Idempotency-Key": uuid.uuid4().hex},
                    **_API_BODY.get(path, dict)(),
                )
                _same_as_api(world, resp, api_resp, 404)
            assert _sponsor_state(world.app, own["programme_id"]) == before

    return check


PROGRAMME = "/programmes/{programme_id}"
API_PROGRAMME = "/staff/programmes/{programme_id}"
_API_BODY: dict[str, Callable[[], dict]] = {
    API_PROGRAMME + "/roster/uploads": lambda: {
        "data": {"file": (io.BytesIO(roster_csv(eligible(1, skip=2))), "roster.csv")},
        "content_type": "multipart/form-data",
    },
    API_PROGRAMME + "/enrollment-jobs": lambda: {
        "json": {"terms": {"version": "x", "accepted": True}},
    },
}
SPONSOR_CASES = {
    ("/programmes/<int:programme_id>", "GET"): _sponsor(PROGRAMME, ("GET", API_PROGRAMME)),
    ("/programmes/<int:programme_id>/roster", "POST"): _sponsor(
        PROGRAMME + "/roster",
        ("POST", API_PROGRAMME + "/roster/uploads"),
        lambda: {"file": (io.BytesIO(roster_csv(eligible(1, skip=3))), "roster.csv")},
    ),
    ("/programmes/<int:programme_id>/uploads/<int:upload_id>/report.xlsx", "GET"): _sponsor(
        PROGRAMME + "/uploads/{upload_id}/report.xlsx",
        ("GET", API_PROGRAMME + "/roster/uploads/{upload_id}/report.csv"),
    ),
    ("/programmes/<int:programme_id>/jobs", "POST"): _sponsor(
        PROGRAMME + "/jobs",
        ("POST", API_PROGRAMME + "/enrollment-jobs"),
        lambda: {"terms_version": "x", "terms_accepted": "yes"},
    ),
    ("/programmes/<int:programme_id>/jobs/latest.json", "GET"): _sponsor(
        PROGRAMME + "/jobs/latest.json", ("GET", API_PROGRAMME + "/enrollment-jobs")
    ),
    ("/programmes/<int:programme_id>/jobs/<int:job_id>/status.json", "GET"): _sponsor(
        PROGRAMME + "/jobs/{job_id}/status.json",
        ("GET", API_PROGRAMME + "/enrollment-jobs/{job_id}"),
    ),
    ("/programmes/<int:programme_id>/jobs/<int:job_id>/rows.xlsx", "GET"): _sponsor(
        PROGRAMME + "/jobs/{job_id}/rows.xlsx",
        ("GET", API_PROGRAMME + "/enrollment-jobs/{job_id}/rows"),
    ),
    ("/campaigns/<int:campaign_id>/poster.png", "GET"): _sponsor(
        "/campaigns/{campaign_id}/poster.png", ("GET", "/staff/campaigns/{campaign_id}/qr.png")
    ),
    ("/campaigns/<int:campaign_id>/poster.pdf", "GET"): _sponsor(
        "/campaigns/{campaign_id}/poster.pdf", ("GET", "/staff/campaigns/{campaign_id}")
    ),
    # The API has no route per donation: the receipt is checked against the list below.
    ("/donations/<int:entry_id>/receipt.pdf", "GET"): _sponsor(
        "/donations/{entry_id}/receipt.pdf", None
    ),
}
for (_rule, _method), _check in SPONSOR_CASES.items():
    CASES[("/console/sponsor" + _rule, _method)] = _check


def test_another_organisations_donation_is_not_in_its_api_list(world):
    resp = world.app.test_client().get("/staff/reports/donations", headers=world.admin_api)
    assert resp.status_code == 200
    entries = {item["entry_id"] for item in resp.get_json()["items"]}
    assert world.sponsor["entry_id"] not in entries


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[1]} {k[0]}")
def test_page_refuses_objects_out_of_reach_as_the_api_does(world, key):
    CASES[key](world)


def test_every_page_id_route_has_a_case(app):
    id_routes = set(page_routes(app, with_path_variables=True))
    assert ("/console/claims/<int:claim_id>", "GET") in id_routes
    missing = sorted(id_routes - set(CASES))
    assert not missing, f"page routes with an id and no object-access case in {__file__}: {missing}"
    assert not sorted(set(CASES) - id_routes), "cases for page routes that are gone"


def test_path_ids_are_database_ids(world):
    """Out-of-range ids are a plain 404 page, as for the API."""
    resp = world.client.get(f"/console/claims/{2**63}")
    assert resp.status_code == 404
    assert re.search("页面或记录不存在", resp.get_data(as_text=True))
