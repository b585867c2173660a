"""A consent is to the text in force, not to whatever version the mini-program sends.

Route by route (table-driven): the version in force is accepted and recorded; an old version (a
text the mini-program cached), another text's version, a case variant and garbage are refused
with a 4xx naming the version in force, and nothing is recorded (no consent row, no person, no
relative, no audit row, no bureau call). The personal-information and guardian texts answer 422
`consent_text_outdated` (app/members/privacy.py); the renewal and value-estimate consents keep
their own codes (app/renewals, app/estimates). The versions are settings: GET /me/consents lists
them, and an app with another version in force refuses the old one.
"""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.config import Config, ConfigurationError, load_config
from app.database import get_session
from app.members.models import Consent, Person, Relative
from app.renewals.models import RenewalConsent
from tests import factories
from tests.conftest import CONSENT, add_relative, bearer, login, verify
from tests.web.conftest import ENROLLED_AT

PI = Config.PI_CONSENT_TEXT_VERSION
GUARDIAN_VERSION = Config.GUARDIAN_CONSENT_TEXT_VERSION
GUARDIAN = {"accepted": True, "text_version": GUARDIAN_VERSION}

# versions that are not the personal-information text in force, and why one would be sent
NOT_PI = [
    pytest.param("pi-2025-01", id="an-older-text-cached-by-the-mini-program"),
    pytest.param(PI.upper(), id="case-differs"),
    pytest.param(GUARDIAN_VERSION, id="another-texts-version"),
    pytest.param("None", id="a-null-rendered-as-text"),
    pytest.param("x", id="garbage"),
]
NOT_GUARDIAN = [
    pytest.param("guardian-2025-01", id="an-older-text-cached-by-the-mini-program"),
    pytest.param(PI, id="the-personal-information-texts-version"),
    pytest.param("garbage", id="garbage"),
]


def count(app, model, *where) -> int:
    with app.app_context():
        n = get_session().scalar(select(func.count()).select_from(model).where(*where))
        get_session().rollback()
        return n


def snapshot(app) -> tuple[int, ...]:
    """What a consent could leave behind: consents, people, relatives, audit rows."""
    return (count(app, Consent), count(app, Person), count(app, Relative), count(app, AuditEvent))


@pytest.fixture
def bureau_calls(monkeypatch) -> list[str]:
    """The names the sandbox bureau was asked about (1101), in order."""
    from app.integrations.bureau.sandbox import SandboxBureau

    calls: list[str] = []
    real = SandboxBureau.lookup_person

    def lookup_person(self, certno, name):
        calls.append(name)
        return real(self, certno, name)

    monkeypatch.setattr(SandboxBureau, "lookup_person", lookup_person)
    return calls


def assert_outdated(resp, text: str, current: str, path: tuple[str, ...]) -> dict:
    """422 consent_text_outdated naming the text and the version in force, in Chinese, with the
    field message at `path` of the JSON body."""
    assert resp.status_code == 422, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["code"] == "consent_text_outdated", body
    assert body["errors"]["text"] == text
    assert body["errors"]["current_text_version"] == current
    assert current in body["detail"] and "请重新阅读" in body["detail"]
    field = body["errors"]["json"]
    for key in path:
        field = field[key]
    assert field == {"text_version": [body["detail"]]}
    return body


# --- POST /me/identity ---------------------------------------------------------------------------


def test_verifying_with_the_text_in_force_records_it(client, seeded, residents, bureau_calls):
    token = login(client, "cv-identity")["access_token"]
    resp = verify(client, token, residents["张伟"])
    assert resp.status_code == 200, resp.get_json()
    assert bureau_calls == ["张伟"]
    with client.application.app_context():
        versions = get_session().scalars(select(Consent.text_version)).all()
        get_session().rollback()
    assert versions[-1] == PI


@pytest.mark.parametrize("version", NOT_PI)
def test_verifying_with_another_version_is_refused_before_the_bureau_is_asked(
    client, seeded, residents, bureau_calls, version
):
    app = client.application
    token = login(client, "cv-identity")["access_token"]
    before = snapshot(app)
    zhang = residents["张伟"]
    resp = client.post(
        "/me/identity",
        headers=bearer(token),
        json={
            "name": zhang.name,
            "id_number": zhang.certno,
            "consent": {"accepted": True, "text_version": version},
        },
    )
    assert_outdated(resp, "personal_information", PI, ("consent",))
    assert snapshot(app) == before
    assert bureau_calls == []
    assert client.get("/me", headers=bearer(token)).get_json()["identity_verified"] is False
    # the member reads the text again and sends its version: verified
    assert verify(client, token, zhang).status_code == 200


# --- POST /me/relatives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resident, relation, consent, guardian, refused",
    [
        # (who, relation, the personal-information consent's version, the guardian's, refused
        # as which text or None)
        ("张建国", "parent", PI, None, None),
        ("张小宝", "child", PI, GUARDIAN_VERSION, None),
        ("张建国", "parent", "pi-2025-01", None, "personal_information"),
        ("张建国", "parent", "garbage", None, "personal_information"),
        ("张小宝", "child", "pi-2025-01", GUARDIAN_VERSION, "personal_information"),
        ("张小宝", "child", PI, "guardian-2025-01", "guardian"),
        ("张小宝", "child", PI, PI, "guardian"),  # the other text's version
        ("张小宝", "child", PI, "garbage", "guardian"),
    ],
)
def test_adding_a_relative_records_consents_to_the_texts_in_force_only(
    client, verified_member, residents, bureau_calls, resident, relation, consent, guardian, refused
):
    app = client.application
    before = snapshot(app)
    extra = (
        {}
        if guardian is None
        else {"guardian_consent": {"accepted": True, "text_version": guardian}}
    )
    resp = add_relative(
        client,
        verified_member,
        residents[resident],
        relation,
        consent={"accepted": True, "text_version": consent},
        **extra,
    )
    if refused is None:
        assert resp.status_code == 201, resp.get_json()
        assert bureau_calls == [resident]
        with app.app_context():
            rows = (
                get_session()
                .execute(select(Consent.purpose, Consent.text_version).order_by(Consent.id.desc()))
                .all()
            )
            get_session().rollback()
        recorded = rows[: 2 if guardian else 1]
        assert sorted(recorded) == sorted(
            [("identity_verification", PI)] + ([("guardian", GUARDIAN_VERSION)] if guardian else [])
        )
        return
    current = PI if refused == "personal_information" else GUARDIAN_VERSION
    field = "consent" if refused == "personal_information" else "guardian_consent"
    assert_outdated(resp, refused, current, (field,))
    assert snapshot(app) == before
    assert bureau_calls == []


# --- POST /me/consents (consenting again after a withdrawal) ---------------------------------------


@pytest.fixture
def withdrawn(client, seeded, residents):
    """张伟, verified, who withdrew the personal-information consent; his token."""
    token = factories.verified_member(seeded, "cv-again", residents["张伟"])["access_token"]
    resp = client.post("/me/consents/withdrawal", headers=bearer(token))
    assert resp.status_code == 200, resp.get_json()
    return token


@pytest.mark.parametrize("version", NOT_PI)
def test_consenting_again_to_another_version_is_refused_and_stays_withdrawn(
    client, withdrawn, version
):
    app = client.application
    before = snapshot(app)
    resp = client.post(
        "/me/consents", headers=bearer(withdrawn), json={"accepted": True, "text_version": version}
    )
    assert_outdated(resp, "personal_information", PI, ())
    assert snapshot(app) == before
    state = client.get("/me/consents", headers=bearer(withdrawn)).get_json()
    assert state["personal_information"]["state"] == "withdrawn"


def test_consenting_again_to_the_text_in_force_grants(client, withdrawn):
    app = client.application
    before = count(app, Consent, Consent.purpose == "identity_verification")
    resp = client.post("/me/consents", headers=bearer(withdrawn), json=CONSENT)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["personal_information"]["state"] == "granted"
    assert resp.get_json()["personal_information"]["text_version"] == PI
    assert count(app, Consent, Consent.purpose == "identity_verification") == before + 1


def test_a_member_already_consenting_cannot_be_answered_yes_to_an_old_text(
    client, seeded, residents
):
    """Consenting again while the consent stands is a no-op, but not for an outdated text: the
    answer would read as if the old text had been agreed."""
    token = factories.verified_member(seeded, "cv-granted", residents["张伟"])["access_token"]
    resp = client.post(
        "/me/consents", headers=bearer(token), json={"accepted": True, "text_version": "pi-2025-01"}
    )
    assert_outdated(resp, "personal_information", PI, ())


# --- the renewal and value-estimate consents (validated by their own capabilities) --------------


@pytest.fixture
def insured(seeded, residents):
    """张伟, insured for 2026 by an order he paid; token and policy id."""
    with time_machine.travel(ENROLLED_AT, tick=True):
        made = factories.verified_member(seeded, "cv-renewal", residents["张伟"])
        order = factories.order(seeded, made["member_id"], [], pay=True)
    assert order["status"] == "paid", order
    token = factories.login(seeded, "cv-renewal")["access_token"]
    return token, order["policies"][0]["id"]


@pytest.mark.parametrize(
    "version, refused",
    [
        (Config.RENEWAL_CONSENT_VERSION, False),
        ("renewal-2025-12", True),  # an older text
        (Config.RENEWAL_CONSENT_VERSION.upper(), True),
        (PI, True),  # another text's version
        ("garbage", True),
    ],
)
def test_renewal_consent_route_takes_the_text_in_force_only(client, insured, version, refused):
    token, policy_id = insured
    app = client.application
    resp = client.post(
        "/renewals/consents",
        headers=bearer(token),
        json={
            "policy_id": policy_id,
            "auto_debit": False,
            "consent": {"version": version, "accepted": True},
        },
    )
    if not refused:
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["text_version"] == version
        assert count(app, RenewalConsent) == 1
        return
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["code"] == "renewal_consent_outdated"
    assert Config.RENEWAL_CONSENT_VERSION in resp.get_json()["detail"]
    assert count(app, RenewalConsent) == 0
    shown = client.get("/renewals", headers=bearer(token)).get_json()
    assert shown["consent_text_version"] == Config.RENEWAL_CONSENT_VERSION


@pytest.mark.parametrize(
    "version, refused",
    [
        (Config.ESTIMATE_CONSENT_TEXT_VERSION, False),
        ("estimate-2025-12", True),
        (PI, True),
        ("garbage", True),
    ],
)
def test_value_estimate_consent_route_takes_the_text_in_force_only(
    client, verified_member, version, refused
):
    app = client.application
    granted = AuditEvent.action == "estimate.consent_granted"
    resp = client.post(
        "/me/value-estimate/consent",
        headers=bearer(verified_member),
        json={"consent": {"accepted": True, "text_version": version}},
    )
    if not refused:
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["granted"] is True
        assert count(app, Consent, Consent.purpose == "value_estimate") == 1
        assert count(app, AuditEvent, granted) == 1
        return
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["code"] == "estimate_consent_outdated"
    assert Config.ESTIMATE_CONSENT_TEXT_VERSION in resp.get_json()["detail"]
    assert count(app, Consent, Consent.purpose == "value_estimate") == 0
    assert count(app, AuditEvent, granted) == 0


# --- where the versions come from ----------------------------------------------------------------


def test_the_consent_page_lists_every_text_in_force(client, seeded):
    token = login(client, "cv-page")["access_token"]
    body = client.get("/me/consents", headers=bearer(token)).get_json()
    assert body["current_text_versions"] == {
        "personal_information": PI,
        "guardian": GUARDIAN_VERSION,
        "renewal": Config.RENEWAL_CONSENT_VERSION,
        "value_estimate": Config.ESTIMATE_CONSENT_TEXT_VERSION,
    }


def test_a_new_text_in_force_refuses_the_old_one(app_factory, residents):
    """Publishing a new text is a setting: the old version is refused at once, the new one is
    what the consent page lists and what is recorded."""
    from tests.conftest import seed_app

    app = seed_app(app_factory(PI_CONSENT_TEXT_VERSION="pi-2027-01"))
    client = app.test_client()
    token = login(client, "cv-new-text")["access_token"]
    listed = client.get("/me/consents", headers=bearer(token)).get_json()
    assert listed["current_text_versions"]["personal_information"] == "pi-2027-01"
    old = verify(client, token, residents["张伟"])  # CONSENT names the default, pi-2026-01
    assert_outdated(old, "personal_information", "pi-2027-01", ("consent",))
    zhang = residents["张伟"]
    resp = client.post(
        "/me/identity",
        headers=bearer(token),
        json={
            "name": zhang.name,
            "id_number": zhang.certno,
            "consent": {"accepted": True, "text_version": "pi-2027-01"},
        },
    )
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize(
    "setting, value",
    [
        ("PI_CONSENT_TEXT_VERSION", "p" * 33),  # longer than a consent may send
        ("GUARDIAN_CONSENT_TEXT_VERSION", " guardian"),  # not what a consent sends
        ("RENEWAL_CONSENT_VERSION", ""),
        ("ESTIMATE_CONSENT_TEXT_VERSION", "estimate\n2026"),
    ],
)
def test_a_version_no_consent_could_carry_is_refused_at_start(monkeypatch, setting, value):
    monkeypatch.setenv(setting, value)
    if value == "":
        # empty in the environment means unset: the default stays; set it on the object instead
        cfg = load_config("development")
        setattr(cfg, setting, value)
        with pytest.raises(ConfigurationError, match=setting):
            cfg.validate()
        return
    with pytest.raises(ConfigurationError, match=setting):
        load_config("development")


def test_a_version_from_the_environment_is_the_one_in_force(monkeypatch):
    monkeypatch.setenv("PI_CONSENT_TEXT_VERSION", "pi-2027-01")
    assert load_config("development").PI_CONSENT_TEXT_VERSION == "pi-2027-01"
