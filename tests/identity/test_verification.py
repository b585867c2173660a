"""POST /me/identity and /me/identity/refresh through the HTTP client, against the sandbox
bureau seeded with the demo registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.database import get_session
from app.identity.idnumber import with_check_digit
from app.identity.services import decrypt_id_number, person_index
from app.integrations.bureau.port import BureauUnavailable
from app.members.models import Consent, Member, Person
from tests.conftest import CONSENT, bearer, login, verify

PROBLEM = "application/problem+json"
# A well-formed number (check character 0, see test_idnumber) that no demo resident holds.
UNKNOWN_VALID_ID = "360702199001010010"


def masked(certno: str) -> str:
    return certno[:4] + "*" * 10 + certno[-4:]


def count(app, model, *where) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model).where(*where))


def post_identity(client, token, **body):
    return client.post("/me/identity", headers=bearer(token), json=body)


def has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.fixture
def member(client, seeded):
    """A fresh member, logged in, not yet verified: (token, member_id)."""
    tokens = login(client, "member-a")
    return tokens["access_token"], tokens["member_id"]


class CountingBureau:
    """Delegates to the real sandbox adapter and counts calls (the bureau is not mocked away)."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def lookup_person(self, certno, name):
        self.calls += 1
        return self.inner.lookup_person(certno, name)


class DownBureau:
    def __init__(self):
        self.calls = 0

    def lookup_person(self, certno, name):
        self.calls += 1
        raise BureauUnavailable("read timeout")


# --------------------------------------------------------------------------------------------
# Success
# --------------------------------------------------------------------------------------------
def test_employee_with_personal_account(client, member, residents):
    token, member_id = member
    zhang = residents["张伟"]
    resp = verify(client, token, zhang)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["member_id"] == member_id
    assert body["identity_verified"] is True
    assert body["verification_stale"] is False
    person = body["person"]
    assert person["name"] == "张伟"
    assert person["insurance_type"] == "employee"
    assert person["insurance_type_label"] == "职工基本医疗保险"
    assert person["insurance_status"] == "active"
    assert person["suspended_since"] is None
    assert person["has_personal_account"] is True
    assert person["region_code"] == "360702"
    assert person["gender"] == "1"
    assert person["birth_date"] == "1985-03-12"
    assert person["id_number_masked"] == "3607**********0119" == masked(zhang.certno)
    raw = resp.get_data(as_text=True)
    assert zhang.certno not in raw
    assert "19850312" not in raw  # the birth-date digits of the number are not in the body

    me = client.get("/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["person"]["id_number_masked"] == "3607**********0119"
    assert zhang.certno not in me.get_data(as_text=True)


def test_suspended_resident(client, member, residents):
    token, _ = member
    resp = verify(client, token, residents["王芳"])
    assert resp.status_code == 200, resp.get_json()
    person = resp.get_json()["person"]
    assert person["insurance_type"] == "resident"
    assert person["insurance_status"] == "suspended"
    assert person["insurance_status_label"] == "暂停参保"
    assert person["suspended_since"] == "2026-03-01"
    assert person["has_personal_account"] is False


def test_insured_outside_the_city(client, member, residents):
    token, _ = member
    resp = verify(client, token, residents["赵敏"])
    assert resp.status_code == 200, resp.get_json()
    person = resp.get_json()["person"]
    assert person["region_code"] == "360102"
    assert not person["region_code"].startswith("3607")
    assert person["insurance_status"] == "active"
    assert person["insurance_type"] == "employee"


def test_lowercase_x_and_spaces_are_normalised(client, member, residents):
    token, _ = member
    father = residents["张建国"]
    assert father.certno.endswith("X")
    spaced = " " + father.certno[:6] + " " + father.certno[6:14] + " " + father.certno[14:].lower()
    resp = post_identity(client, token, name=father.name, id_number=spaced, consent=CONSENT)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["person"]["id_number_masked"] == masked(father.certno)
    assert (
        count(
            client.application,
            Person,
            Person.id_number_index == _index(client.application, father.certno),
        )
        == 1
    )


def _index(app, certno):
    with app.app_context():
        return person_index(certno)


# --------------------------------------------------------------------------------------------
# Failures that must not be an oracle
# --------------------------------------------------------------------------------------------
def test_wrong_name_and_unknown_id_are_indistinguishable(client, member, residents):
    token, _ = member
    wrong_name = post_identity(
        client, token, name="张三", id_number=residents["张伟"].certno, consent=CONSENT
    )
    unknown_id = post_identity(
        client, token, name="张伟", id_number=UNKNOWN_VALID_ID, consent=CONSENT
    )
    assert wrong_name.status_code == unknown_id.status_code == 422
    assert wrong_name.get_json()["code"] == "identity_not_matched"
    assert wrong_name.get_data() == unknown_id.get_data()  # byte-identical problem bodies
    assert wrong_name.headers["Content-Type"] == unknown_id.headers["Content-Type"] == PROBLEM
    assert has_cjk(wrong_name.get_json()["detail"])
    assert "errors" not in wrong_name.get_json()  # no per-field hint about which one was wrong
    assert count(client.application, Person) == 0


def test_bad_checksum(client, member, residents):
    token, _ = member
    bad = residents["张伟"].certno[:17] + "8"  # right check character is 9
    resp = post_identity(client, token, name="张伟", id_number=bad, consent=CONSENT)
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.get_json()
    assert body["code"] == "id_number_checksum"
    assert body["errors"]["json"]["id_number"] == [body["detail"]]
    assert has_cjk(body["detail"])
    assert bad not in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "consent",
    [
        pytest.param({"accepted": False, "text_version": "pi-2026-01"}, id="accepted-false"),
    ],
)
def test_consent_not_given(client, member, residents, consent):
    token, _ = member
    zhang = residents["张伟"]
    resp = post_identity(client, token, name=zhang.name, id_number=zhang.certno, consent=consent)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["code"] == "consent_required"
    assert "consent" in body["errors"]["json"]
    assert count(client.application, Person) == 0
    assert count(client.application, Consent) == 0


def test_consent_missing_is_rejected(client, member, residents):
    token, _ = member
    zhang = residents["张伟"]
    resp = post_identity(client, token, name=zhang.name, id_number=zhang.certno)
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == PROBLEM
    assert "consent" in resp.get_json()["errors"]["json"]
    assert count(client.application, Person) == 0


def test_consent_missing_has_the_consent_required_code(client, member, residents):
    token, _ = member
    zhang = residents["张伟"]
    resp = post_identity(client, token, name=zhang.name, id_number=zhang.certno)
    assert resp.get_json()["code"] == "consent_required"


@pytest.mark.parametrize(
    ("body_extra", "path"),
    [
        pytest.param({"phone": "13800000000"}, ("phone",), id="top-level"),
        pytest.param(
            {"consent": {**CONSENT, "signed_by": "x"}}, ("consent", "signed_by"), id="nested"
        ),
    ],
)
def test_unknown_field_is_named(client, member, residents, body_extra, path):
    token, _ = member
    zhang = residents["张伟"]
    body = {"name": zhang.name, "id_number": zhang.certno, "consent": CONSENT, **body_extra}
    resp = post_identity(client, token, **body)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]["json"]
    for key in path:
        errors = errors[key]
    assert errors == ["不允许的字段"]
    assert count(client.application, Person) == 0


def test_child_cannot_verify_as_member(client, member, residents):
    token, _ = member
    resp = verify(client, token, residents["张小宝"])
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "member_too_young"
    assert count(client.application, Person) == 0
    me = client.get("/me", headers=bearer(token)).get_json()
    assert me["identity_verified"] is False and me["person"] is None


def test_unauthenticated_verify_is_401(client, seeded, residents):
    zhang = residents["张伟"]
    resp = client.post(
        "/me/identity", json={"name": zhang.name, "id_number": zhang.certno, "consent": CONSENT}
    )
    assert resp.status_code == 401
    assert count(client.application, Person) == 0


# --------------------------------------------------------------------------------------------
# Binding rules
# --------------------------------------------------------------------------------------------
def test_identity_cannot_be_bound_to_two_wechat_accounts(client, verified_member, residents):
    app = client.application
    other = login(client, "member-b")
    resp = verify(client, other["access_token"], residents["张伟"])
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "identity_already_bound"
    assert residents["张伟"].certno not in resp.get_data(as_text=True)
    assert (
        client.get("/me", headers=bearer(other["access_token"])).get_json()["identity_verified"]
        is False
    )
    assert count(app, Person) == 1
    assert count(app, Consent, Consent.member_id == other["member_id"]) == 0
    assert count(app, AuditEvent, AuditEvent.actor_id == other["member_id"]) == 0


def test_account_cannot_switch_to_another_identity(client, verified_member, residents):
    app = client.application
    resp = verify(client, verified_member, residents["李娜"])
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "member_already_verified"
    assert count(app, Person) == 1  # no record for 李娜 left behind
    me = client.get("/me", headers=bearer(verified_member)).get_json()
    assert me["person"]["name"] == "张伟"


def test_reverifying_the_same_identity_is_ok(client, verified_member, residents):
    app = client.application
    resp = verify(client, verified_member, residents["张伟"])
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["person"]["name"] == "张伟"
    assert count(app, Person) == 1
    assert count(app, Consent, Consent.purpose == "identity_verification") == 2


# --------------------------------------------------------------------------------------------
# What is written
# --------------------------------------------------------------------------------------------
def test_consent_and_audit_rows_are_written(client, member, residents):
    app = client.application
    token, member_id = member
    zhang = residents["张伟"]
    resp = verify(client, token, zhang)
    assert resp.status_code == 200
    with app.app_context():
        session = get_session()
        person = session.scalar(select(Person))
        consents = session.scalars(select(Consent)).all()
        assert [
            (c.member_id, c.subject_person_id, c.purpose, c.text_version) for c in consents
        ] == [(member_id, person.id, "identity_verification", "pi-2026-01")]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "identity.verified")
        ).all()
        assert len(events) == 1
        event = events[0]
        assert (event.actor_type, event.actor_id, event.object_type, event.object_id) == (
            "member",
            member_id,
            "person",
            person.id,
        )
        assert event.request_id == resp.headers["X-Request-Id"]
        assert zhang.certno not in json.dumps(event.detail)
        assert session.get(Member, member_id).person_id == person.id


def test_id_number_is_encrypted_and_found_by_blind_index(client, verified_member, residents):
    app = client.application
    certno = residents["张伟"].certno
    with app.app_context():
        session = get_session()
        person = session.scalar(
            select(Person).where(Person.id_number_index == person_index(certno))
        )
        assert person is not None and person.name == "张伟"
        assert person.id_number_enc != certno
        assert certno not in person.id_number_enc
        assert certno not in person.id_number_index
        assert decrypt_id_number(person) == certno
        # nothing in the persons / consents / audit tables holds the plaintext
        for table in ("persons", "consents", "audit_events", "members"):
            rows = session.execute(text(f"SELECT * FROM {table}")).all()
            assert rows
            assert certno not in repr(rows), table


# --------------------------------------------------------------------------------------------
# Staleness and refresh
# --------------------------------------------------------------------------------------------
def _verified_at(body) -> datetime:
    return datetime.fromisoformat(body["person"]["verified_at"])


def test_stale_verification_is_flagged_and_refresh_reverifies(client, verified_member, residents):
    app = client.application
    max_age = app.config["VERIFICATION_MAX_AGE_SECONDS"]
    before = client.get("/me", headers=bearer(verified_member)).get_json()
    assert before["verification_stale"] is False
    first = _verified_at(before)

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=max_age - 60)):
        token = login(client, "member-a")["access_token"]  # the old access token has expired
        assert client.get("/me", headers=bearer(token)).get_json()["verification_stale"] is False

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=max_age + 60)):
        token = login(client, "member-a")["access_token"]
        stale = client.get("/me", headers=bearer(token)).get_json()
        assert stale["verification_stale"] is True
        assert _verified_at(stale) == first

        refreshed = client.post("/me/identity/refresh", headers=bearer(token))
        assert refreshed.status_code == 200, refreshed.get_json()
        body = refreshed.get_json()
        assert body["verification_stale"] is False
        assert _verified_at(body) - first >= timedelta(seconds=max_age)
        assert body["person"]["name"] == "张伟"
        again = client.get("/me", headers=bearer(token)).get_json()
        assert again["verification_stale"] is False


def test_refresh_of_a_fresh_verification_does_not_call_the_bureau(client, verified_member):
    app = client.application
    counting = CountingBureau(app.extensions["bureau"])
    app.extensions["bureau"] = counting
    before = _verified_at(client.get("/me", headers=bearer(verified_member)).get_json())
    resp = client.post("/me/identity/refresh", headers=bearer(verified_member))
    assert resp.status_code == 200
    assert counting.calls == 0
    assert _verified_at(resp.get_json()) == before


def test_refresh_before_verification_is_422(client, member):
    token, _ = member
    resp = client.post("/me/identity/refresh", headers=bearer(token))
    assert resp.status_code == 422
    assert resp.get_json()["code"] == "identity_not_verified"


def test_refresh_when_the_bureau_is_down_keeps_the_old_snapshot(client, verified_member):
    app = client.application
    first = _verified_at(client.get("/me", headers=bearer(verified_member)).get_json())
    app.extensions["bureau"] = down = DownBureau()
    later = datetime.now(UTC) + timedelta(seconds=app.config["VERIFICATION_MAX_AGE_SECONDS"] + 60)
    with time_machine.travel(later):
        token = login(client, "member-a")["access_token"]
        resp = client.post("/me/identity/refresh", headers=bearer(token))
        assert resp.status_code == 503
        assert resp.get_json()["code"] == "bureau_unavailable"
        assert down.calls == 1
        me = client.get("/me", headers=bearer(token)).get_json()
        assert me["verification_stale"] is True
        assert _verified_at(me) == first


# --------------------------------------------------------------------------------------------
# The bureau is down
# --------------------------------------------------------------------------------------------
def test_bureau_unavailable_is_503_and_writes_nothing(client, member, residents):
    app = client.application
    token, member_id = member
    app.extensions["bureau"] = down = DownBureau()
    resp = verify(client, token, residents["张伟"])
    assert resp.status_code == 503
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.get_json()
    assert body["code"] == "bureau_unavailable"
    assert has_cjk(body["detail"])
    assert "timeout" not in resp.get_data(as_text=True)
    assert down.calls == 1
    assert count(app, Person) == 0
    assert count(app, Consent) == 0
    assert count(app, AuditEvent, AuditEvent.action == "identity.verified") == 0
    assert client.get("/me", headers=bearer(token)).get_json()["identity_verified"] is False


def test_unknown_id_with_valid_checksum_reaches_the_bureau(client, member):
    """The 'unknown ID' case is really a bureau answer, not a local rejection."""
    app = client.application
    token, _ = member
    counting = CountingBureau(app.extensions.get("bureau") or _sandbox())
    app.extensions["bureau"] = counting
    resp = post_identity(client, token, name="张伟", id_number=UNKNOWN_VALID_ID, consent=CONSENT)
    assert resp.get_json()["code"] == "identity_not_matched"
    assert counting.calls == 1
    # a number with a bad check character never reaches it
    bad = post_identity(
        client,
        token,
        name="张伟",
        id_number=with_check_digit("36070219900101001")[:17] + "1",
        consent=CONSENT,
    )
    assert bad.get_json()["code"] == "id_number_checksum"
    assert counting.calls == 1


def _sandbox():
    from app.integrations.bureau.sandbox import SandboxBureau

    return SandboxBureau()


def test_failed_verifications_leave_no_personal_data_in_module_state(client, member, residents):
    import app.identity.services as identity_services

    token, _ = member
    tried = [residents[who].certno for who in ("张伟", "李娜", "王芳")]
    for certno in tried:
        resp = post_identity(client, token, name="无名氏", id_number=certno, consent=CONSENT)
        assert resp.get_json()["code"] == "identity_not_matched"
    retained = []
    for value in vars(identity_services).values():
        if isinstance(value, BaseException):
            tb = value.__traceback__
            while tb is not None:
                retained.append(repr(tb.tb_frame.f_locals))
                tb = tb.tb_next
    dump = "\n".join(retained)
    assert not [certno for certno in tried if certno in dump]


@pytest.mark.parametrize("name", ["𠮷丽", "孙𪚥丽", "买买提・艾力"])
def test_a_name_with_a_rare_character_or_another_interpunct_reaches_the_bureau(
    app, client, seeded, residents, member, name
):
    """生僻字 outside the BMP (CJK Extension B and later) are in real names; the rosters accept
    them, so must the member's own verification: the bureau, not the shape check, decides."""
    from sqlalchemy import update

    from app.database import transaction
    from app.integrations.bureau.sandbox_models import SandboxResident

    sun = residents["孙丽"]
    with app.app_context(), transaction() as s:
        s.execute(
            update(SandboxResident)
            .where(SandboxResident.psn_no == sun.psn_no)
            .values(psn_name=name)
        )
    token, _ = member
    resp = post_identity(client, token, name=name, id_number=sun.certno, consent=CONSENT)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["person"]["name"] == name
