"""Relatives: /me/relatives (add, list, get, delete), verified with the sandbox bureau."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.config import Config
from app.database import get_session
from app.identity.services import person_index
from app.integrations.bureau.port import BureauUnavailable
from app.members.models import Consent, Person, Relative
from tests.conftest import CONSENT, add_relative, bearer, login, verify

PROBLEM = "application/problem+json"
GUARDIAN = {"accepted": True, "text_version": Config.GUARDIAN_CONSENT_TEXT_VERSION}


def count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def masked(certno: str) -> str:
    return certno[:4] + "*" * 10 + certno[-4:]


def snapshot(app) -> tuple[int, int, int, int]:
    return (
        count(app, Person),
        count(app, Relative),
        count(app, Consent),
        count(app, AuditEvent, AuditEvent.action == "relative.added"),
    )


@pytest.fixture
def member_b(client, seeded, residents):
    """A second member, verified as 李娜 (the child's mother); returns the access token."""
    tokens = login(client, "member-b")
    resp = verify(client, tokens["access_token"], residents["李娜"])
    assert resp.status_code == 200, resp.get_json()
    return tokens["access_token"]


# --------------------------------------------------------------------------------------------
# The happy path
# --------------------------------------------------------------------------------------------
def test_add_list_get_delete_spouse(client, verified_member, residents):
    app = client.application
    li = residents["李娜"]
    resp = add_relative(client, verified_member, li, "spouse")
    assert resp.status_code == 201, resp.get_json()
    rel = resp.get_json()
    assert rel["relation"] == "spouse"
    assert rel["relation_label"] == "配偶"
    assert rel["under_14"] is False
    assert rel["guardian_consent_recorded"] is False
    assert rel["person"]["name"] == "李娜"
    assert rel["person"]["id_number_masked"] == masked(li.certno)
    assert rel["person"]["insurance_type"] == "resident"
    assert rel["person"]["has_personal_account"] is False
    assert li.certno not in resp.get_data(as_text=True)

    listed = client.get("/me/relatives", headers=bearer(verified_member))
    assert listed.status_code == 200
    assert [r["id"] for r in listed.get_json()] == [rel["id"]]
    assert li.certno not in listed.get_data(as_text=True)

    got = client.get(f"/me/relatives/{rel['id']}", headers=bearer(verified_member))
    assert got.status_code == 200
    assert got.get_json() == rel

    deleted = client.delete(f"/me/relatives/{rel['id']}", headers=bearer(verified_member))
    assert deleted.status_code == 204
    assert deleted.get_data() == b""

    gone = client.get(f"/me/relatives/{rel['id']}", headers=bearer(verified_member))
    assert gone.status_code == 404
    assert gone.headers["Content-Type"] == PROBLEM
    assert gone.get_json()["code"] == "relative_not_found"
    assert client.get("/me/relatives", headers=bearer(verified_member)).get_json() == []
    again = client.delete(f"/me/relatives/{rel['id']}", headers=bearer(verified_member))
    assert again.status_code == 404

    # the shared person record stays; the removal is audited
    with app.app_context():
        assert (
            get_session().scalar(
                select(Person).where(Person.id_number_index == person_index(li.certno))
            )
            is not None
        )
    assert count(app, AuditEvent, AuditEvent.action == "relative.removed") == 1


def test_relative_consent_and_audit_rows(client, verified_member, residents):
    app = client.application
    resp = add_relative(client, verified_member, residents["张建国"], "parent")
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        session = get_session()
        relative = session.get(Relative, resp.get_json()["id"])
        consents = session.scalars(
            select(Consent).where(Consent.subject_person_id == relative.person_id)
        ).all()
        assert [(c.purpose, c.text_version) for c in consents] == [
            ("identity_verification", "pi-2026-01")
        ]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "relative.added"))
        assert (event.object_type, event.object_id, event.detail) == (
            "person",
            relative.person_id,
            {"relation": "parent"},
        )
        assert event.request_id == resp.headers["X-Request-Id"]


# --------------------------------------------------------------------------------------------
# The relative must be checked with the bureau
# --------------------------------------------------------------------------------------------
def test_relative_with_wrong_name_is_not_matched_and_nothing_is_written(
    client, verified_member, residents
):
    app = client.application
    before = snapshot(app)
    li = residents["李娜"]
    resp = client.post(
        "/me/relatives",
        headers=bearer(verified_member),
        json={"name": "李四", "id_number": li.certno, "relation": "spouse", "consent": CONSENT},
    )
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "identity_not_matched"
    assert snapshot(app) == before
    assert client.get("/me/relatives", headers=bearer(verified_member)).get_json() == []


def test_relative_when_bureau_is_down_is_503_and_nothing_is_written(
    client, verified_member, residents
):
    app = client.application
    before = snapshot(app)

    class Down:
        def lookup_person(self, certno, name):
            raise BureauUnavailable("connect timeout")

    app.extensions["bureau"] = Down()
    resp = add_relative(client, verified_member, residents["李娜"], "spouse")
    assert resp.status_code == 503
    assert resp.get_json()["code"] == "bureau_unavailable"
    assert snapshot(app) == before


def test_relative_needs_consent(client, verified_member, residents):
    app = client.application
    before = snapshot(app)
    resp = add_relative(
        client,
        verified_member,
        residents["李娜"],
        "spouse",
        consent={"accepted": False, "text_version": "pi-2026-01"},
    )
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "consent_required"
    assert snapshot(app) == before


# --------------------------------------------------------------------------------------------
# Conflicts and preconditions
# --------------------------------------------------------------------------------------------
def test_adding_oneself_is_409(client, verified_member, residents):
    app = client.application
    before = snapshot(app)
    resp = add_relative(client, verified_member, residents["张伟"], "sibling")
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "relative_is_self"
    assert snapshot(app) == before


def test_adding_twice_is_409(client, verified_member, residents):
    app = client.application
    first = add_relative(client, verified_member, residents["李娜"], "spouse")
    assert first.status_code == 201
    before = snapshot(app)
    second = add_relative(client, verified_member, residents["李娜"], "sibling")
    assert second.status_code == 409
    assert second.get_json()["code"] == "relative_exists"
    # says under which relation she is listed, and how to change it
    assert "（关系：配偶）" in second.get_json()["detail"]
    assert "请先删除该家属" in second.get_json()["detail"]
    assert snapshot(app) == before
    listed = client.get("/me/relatives", headers=bearer(verified_member)).get_json()
    assert [(r["id"], r["relation"]) for r in listed] == [(first.get_json()["id"], "spouse")]


def test_adding_before_own_verification_is_422(client, seeded, residents):
    app = client.application
    token = login(client, "member-new")["access_token"]
    resp = add_relative(client, token, residents["李娜"], "spouse")
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "identity_not_verified"
    assert (count(app, Person), count(app, Relative), count(app, Consent)) == (0, 0, 0)


@pytest.mark.parametrize("relation", ["friend", "SPOUSE", "", "配偶"])
def test_relation_outside_the_allowed_list_is_422(client, verified_member, residents, relation):
    app = client.application
    before = snapshot(app)
    resp = add_relative(client, verified_member, residents["李娜"], relation)
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.get_json()
    assert "relation" in body["errors"]["json"]
    assert "spouse" in body["errors"]["json"]["relation"][0]  # tells the allowed values
    assert snapshot(app) == before


# --------------------------------------------------------------------------------------------
# Children under 14 (PIPL art. 31)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "guardian",
    [
        pytest.param(None, id="missing"),
        pytest.param({"accepted": False, "text_version": "guardian-2026-01"}, id="accepted-false"),
    ],
)
def test_child_under_14_needs_guardian_consent(client, verified_member, residents, guardian):
    app = client.application
    before = snapshot(app)
    extra = {} if guardian is None else {"guardian_consent": guardian}
    resp = add_relative(client, verified_member, residents["张小宝"], "child", **extra)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "guardian_consent_required"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"])
    assert snapshot(app) == before


def test_missing_guardian_consent_names_the_guardian_consent_field(
    client, verified_member, residents
):
    resp = add_relative(client, verified_member, residents["张小宝"], "child")
    assert resp.get_json()["code"] == "guardian_consent_required"
    assert list(resp.get_json()["errors"]["json"]) == ["guardian_consent"]


def test_a_child_declared_a_spouse_is_refused_before_the_bureau_is_asked(
    client, verified_member, residents
):
    """张小宝 (born 2019) as 张伟's spouse: below the legal age of marriage, so not a relation a
    personal account may pay for (家庭共济) nor one whose guardian consent 张伟 could give."""
    app = client.application
    before = snapshot(app)
    resp = add_relative(
        client, verified_member, residents["张小宝"], "spouse", guardian_consent=GUARDIAN
    )
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "relation_invalid"
    assert "法定婚龄" in body["detail"]
    assert list(body["errors"]["json"]) == ["relation"]
    assert snapshot(app) == before


class _BureauNotToBeAsked:
    def lookup_person(self, certno, name):  # pragma: no cover - the point is it is not called
        raise AssertionError("the bureau was asked about a relation refused by birth dates")


@pytest.mark.parametrize(
    ("name", "relation", "says"),
    [
        # 张小宝 (born 2019-06-01) as 张伟's (born 1985-03-12) parent: 34 years younger
        ("张小宝", "parent", "父母应比您年长至少12周岁"),
        # 张建国 (born 1942-11-05) as 张伟's child: 42 years older
        ("张建国", "child", "子女应比您年轻至少12周岁"),
        # 张小宝 as a grandparent, 张建国 as a grandchild
        ("张小宝", "grandparent", "祖父母/外祖父母应比您年长至少24周岁"),
        ("张建国", "grandchild", "孙子女/外孙子女应比您年轻至少24周岁"),
    ],
)
def test_a_relation_the_birth_dates_rule_out_is_422_before_the_bureau_is_asked(
    client, verified_member, residents, name, relation, says
):
    app = client.application
    before = snapshot(app)
    app.extensions["bureau"] = _BureauNotToBeAsked()
    resp = add_relative(
        client, verified_member, residents[name], relation, guardian_consent=GUARDIAN
    )
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "relation_age_implausible"
    assert says in body["detail"]
    assert body["errors"]["json"] == {"relation": [body["detail"]]}
    assert residents[name].certno not in resp.get_data(as_text=True)
    assert snapshot(app) == before


def test_one_spouse_at_a_time(client, verified_member, residents):
    app = client.application
    first = add_relative(client, verified_member, residents["李娜"], "spouse")
    assert first.status_code == 201, first.get_json()
    before = snapshot(app)
    second = add_relative(client, verified_member, residents["陈静"], "spouse")
    assert second.status_code == 409, second.get_json()
    body = second.get_json()
    assert body["code"] == "spouse_already_added"
    assert "同一时间只能登记一位配偶" in body["detail"]
    assert list(body["errors"]["json"]) == ["relation"]
    assert snapshot(app) == before
    # the spouse removed, another may be added
    removed = client.delete(
        f"/me/relatives/{first.get_json()['id']}", headers=bearer(verified_member)
    )
    assert removed.status_code == 204
    third = add_relative(client, verified_member, residents["陈静"], "spouse")
    assert third.status_code == 201, third.get_json()


def test_plausible_relatives_of_every_kind_are_added(client, verified_member, residents):
    """张伟 (1985): 张建国 (1942, 42 years older) as parent, 张小宝 (2019, 34 years younger) as
    child, 李娜 as spouse, 周军 (1958, 27 years older) as... a sibling (any age)."""
    for name, relation in (
        ("张建国", "parent"),
        ("张小宝", "child"),
        ("李娜", "spouse"),
        ("周军", "sibling"),
    ):
        resp = add_relative(
            client, verified_member, residents[name], relation, guardian_consent=GUARDIAN
        )
        assert resp.status_code == 201, (name, resp.get_json())


def test_child_under_14_with_guardian_consent(client, verified_member, residents):
    app = client.application
    child = residents["张小宝"]
    resp = add_relative(client, verified_member, child, "child", guardian_consent=GUARDIAN)
    assert resp.status_code == 201, resp.get_json()
    rel = resp.get_json()
    assert rel["under_14"] is True
    assert rel["guardian_consent_recorded"] is True
    assert rel["relation_label"] == "子女"
    assert child.certno not in resp.get_data(as_text=True)
    with app.app_context():
        session = get_session()
        relative = session.get(Relative, rel["id"])
        guardian = session.get(Consent, relative.guardian_consent_id)
        assert guardian.purpose == "guardian"
        assert guardian.text_version == "guardian-2026-01"
        assert guardian.subject_person_id == relative.person_id
        assert guardian.member_id == relative.member_id


def test_adult_relative_records_no_guardian_consent(client, verified_member, residents):
    app = client.application
    resp = add_relative(
        client, verified_member, residents["张建国"], "parent", guardian_consent=GUARDIAN
    )
    assert resp.status_code == 201
    assert resp.get_json()["under_14"] is False
    assert resp.get_json()["guardian_consent_recorded"] is False
    assert count(app, Consent, Consent.purpose == "guardian") == 0


def test_both_parents_share_one_person_for_the_child(client, verified_member, member_b, residents):
    app = client.application
    child = residents["张小宝"]
    a = add_relative(client, verified_member, child, "child", guardian_consent=GUARDIAN)
    b = add_relative(client, member_b, child, "child", guardian_consent=GUARDIAN)
    assert a.status_code == b.status_code == 201, (a.get_json(), b.get_json())
    assert a.get_json()["id"] != b.get_json()["id"]
    with app.app_context():
        session = get_session()
        people = session.scalars(
            select(Person).where(Person.id_number_index == person_index(child.certno))
        ).all()
        assert len(people) == 1
        rows = session.scalars(select(Relative).where(Relative.person_id == people[0].id)).all()
        assert len(rows) == 2
        assert len({r.member_id for r in rows}) == 2
    assert count(app, Consent, Consent.purpose == "guardian") == 2
    # one parent removing the child leaves the other parent's relative intact
    assert (
        client.delete(
            f"/me/relatives/{a.get_json()['id']}", headers=bearer(verified_member)
        ).status_code
        == 204
    )
    assert (
        client.get(f"/me/relatives/{b.get_json()['id']}", headers=bearer(member_b)).status_code
        == 200
    )


# --------------------------------------------------------------------------------------------
# Object-level access
# --------------------------------------------------------------------------------------------
def test_other_member_cannot_see_or_delete_a_relative(client, verified_member, member_b, residents):
    app = client.application
    father = residents["张建国"]
    resp = add_relative(client, verified_member, father, "parent")
    assert resp.status_code == 201
    rel_id = resp.get_json()["id"]
    missing_id = rel_id + 1000

    for method in ("get", "delete"):
        theirs = getattr(client, method)(f"/me/relatives/{rel_id}", headers=bearer(member_b))
        nothing = getattr(client, method)(f"/me/relatives/{missing_id}", headers=bearer(member_b))
        assert theirs.status_code == 404
        assert theirs.headers["Content-Type"] == PROBLEM
        text = theirs.get_data(as_text=True)
        for leak in (
            "张建国",
            father.certno,
            masked(father.certno),
            "parent",
            "父母",
            father.certno[-4:],
        ):
            assert leak not in text
        # an existing relative of someone else looks exactly like an id that does not exist
        assert theirs.get_data() == nothing.get_data()

    listed = client.get("/me/relatives", headers=bearer(member_b))
    assert listed.status_code == 200
    assert rel_id not in [r["id"] for r in listed.get_json()]
    assert "张建国" not in listed.get_data(as_text=True)

    # A's relative survived B's delete attempt
    mine = client.get(f"/me/relatives/{rel_id}", headers=bearer(verified_member))
    assert mine.status_code == 200 and mine.get_json()["person"]["name"] == "张建国"
    assert count(app, AuditEvent, AuditEvent.action == "relative.removed") == 0


def test_relatives_require_login(client, seeded):
    for method, path in (
        ("get", "/me/relatives"),
        ("get", "/me/relatives/1"),
        ("delete", "/me/relatives/1"),
        ("post", "/me/relatives"),
    ):
        resp = getattr(client, method)(path)
        assert resp.status_code == 401, (method, path)
        assert "WWW-Authenticate" in resp.headers
