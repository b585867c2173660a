"""JWT hardening (QUALITY.md): every malformed, forged, expired or misdirected token gets a 401
problem with a stable code and a Bearer challenge; refresh tokens rotate and a reused one revokes
its family; the key ring rotates; production refuses weak or fake configuration."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import RefreshToken
from app.auth.tokens import hash_refresh_token
from app.database import get_session
from app.demo.seed import DEMO_STAFF_PASSWORD
from tests.conftest import bearer, login
from tests.security.support import assert_unauthorized, staff_login

# --- crafting tokens -----------------------------------------------------------------------


def _test_key(app) -> tuple[str, str]:
    """The signing (first) kid and secret of the app's key ring."""
    kid, secret = next(iter(app.config["JWT_KEYS"].items()))
    return kid, secret


def _rid(access_token: str) -> int:
    """The session (refresh token row) an issued access token names."""
    return jwt.decode(access_token, options={"verify_signature": False})["rid"]


def _latest_rid(app, member_id: int) -> int | None:
    with app.app_context():
        rid = get_session().scalar(
            select(RefreshToken.id)
            .where(RefreshToken.subject_type == "member", RefreshToken.subject_id == member_id)
            .order_by(RefreshToken.id.desc())
            .limit(1)
        )
        get_session().rollback()
    return rid


def claims_for(app, member_id: int, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "rid": _latest_rid(app, member_id),
        "iss": app.config["JWT_ISSUER"],
        "aud": app.config["JWT_MEMBER_AUDIENCE"],
        "sub": f"member:{member_id}",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(overrides)
    return claims


def craft(
    app,
    claims: dict,
    *,
    drop: tuple[str, ...] = (),
    key: str | None = None,
    kid: str | None = "__ring__",
    algorithm: str = "HS256",
) -> str:
    ring_kid, secret = _test_key(app)
    claims = {k: v for k, v in claims.items() if k not in drop}
    headers = {} if kid is None else {"kid": ring_kid if kid == "__ring__" else kid}
    return jwt.encode(claims, secret if key is None else key, algorithm=algorithm, headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def member(client):
    """A logged-in member: (member_id, login answer)."""
    answer = login(client, "jwt-member")
    return answer["member_id"], answer


def me(client, token: str | None = None, headers: dict | None = None):
    return client.get("/me", headers=headers if headers is not None else bearer(token))


# --- access tokens -------------------------------------------------------------------------


def test_a_correctly_crafted_token_is_accepted(app, client, member):
    """Control for every negative below: the crafting helper itself makes a valid token."""
    member_id, _ = member
    resp = me(client, craft(app, claims_for(app, member_id)))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["member_id"] == member_id


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "token_missing"),
        ({"Authorization": ""}, "token_missing"),
        ({"Authorization": "Bearer"}, "token_missing"),
        ({"Authorization": "Bearer    "}, "token_missing"),
        ({"Authorization": "Basic ZGVtbzpkZW1v"}, "token_missing"),
        ({"Authorization": "Token abc.def.ghi"}, "token_missing"),
        ({"Authorization": "Bearer not-a-jwt"}, "token_malformed"),
        ({"Authorization": "Bearer a.b.c"}, "token_malformed"),
        ({"Authorization": "Bearer " + "x" * 4000}, "token_malformed"),
    ],
    ids=[
        "no-header",
        "empty",
        "bearer-no-token",
        "bearer-blank",
        "basic",
        "other-scheme",
        "garbage",
        "garbage-three-parts",
        "garbage-long",
    ],
)
def test_missing_or_garbage_credentials(client, headers, code):
    assert_unauthorized(me(client, headers=headers), code)


def test_alg_none_is_rejected(app, client, member):
    member_id, _ = member
    kid, _ = _test_key(app)
    payload = b64url(json.dumps(claims_for(app, member_id)).encode())
    for alg in ("none", "None", "NONE"):
        header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        assert_unauthorized(me(client, f"{header}.{payload}."), "token_algorithm")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_algorithm_is_pinned_to_hs256(app, client, member, algorithm):
    """Same key, other HMAC algorithm: still refused (the algorithm is pinned)."""
    member_id, _ = member
    token = craft(app, claims_for(app, member_id), algorithm=algorithm)
    assert_unauthorized(me(client, token), "token_algorithm")


def test_signed_with_a_wrong_key(app, client, member):
    member_id, _ = member
    token = craft(app, claims_for(app, member_id), key="attacker-key-0123456789abcdef-0123456789")
    assert_unauthorized(me(client, token), "token_invalid")


def test_tampered_payload_is_rejected(app, client, member):
    """Change the subject of a genuine token without re-signing it."""
    member_id, answer = member
    header, _, signature = answer["access_token"].split(".")
    forged = b64url(json.dumps(claims_for(app, member_id + 1)).encode())
    assert_unauthorized(me(client, f"{header}.{forged}.{signature}"), "token_invalid")


def test_staff_token_on_a_member_route(seeded, client):
    staff = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)
    assert_unauthorized(me(client, staff["access_token"]), "token_audience")


def test_member_token_on_a_staff_route(client, member):
    _, answer = member
    resp = client.get("/staff/audit-events", headers=bearer(answer["access_token"]))
    assert_unauthorized(resp, "token_audience")


def test_member_token_with_staff_audience_and_role_claim(app, client, member):
    """A member cannot mint staff rights: a staff-audience token with a member subject fails."""
    member_id, _ = member
    token = craft(
        app, claims_for(app, member_id, aud=app.config["JWT_STAFF_AUDIENCE"], role="operator")
    )
    resp = client.get("/staff/audit-events", headers=bearer(token))
    assert_unauthorized(resp, "token_invalid")


def test_wrong_issuer(app, client, member):
    member_id, _ = member
    token = craft(app, claims_for(app, member_id, iss="someone-else"))
    assert_unauthorized(me(client, token), "token_invalid")


@pytest.mark.parametrize("sub", ["staff:1", "member:", "member:abc", "1", "member:-1"])
def test_subject_of_the_wrong_kind(app, client, member, sub):
    assert_unauthorized(
        me(client, craft(app, claims_for(app, member[0], sub=sub))), "token_invalid"
    )


def test_expired_crafted_token(app, client, member):
    member_id, _ = member
    now = int(time.time())
    token = craft(app, claims_for(app, member_id, iat=now - 3600, nbf=now - 3600, exp=now - 60))
    assert_unauthorized(me(client, token), "token_expired")


def test_not_yet_valid_token(app, client, member):
    member_id, _ = member
    now = int(time.time())
    token = craft(app, claims_for(app, member_id, nbf=now + 600, exp=now + 900))
    assert_unauthorized(me(client, token), "token_invalid")


def test_issued_token_expires_after_its_lifetime(app, client, member):
    """A token from login works just before its lifetime ends and is refused just after."""
    _, answer = member
    token = answer["access_token"]
    lifetime = app.config["ACCESS_TOKEN_SECONDS"]
    assert answer["expires_in"] == lifetime
    start = datetime.now(UTC)
    with time_machine.travel(start + timedelta(seconds=lifetime - 30), tick=False):
        assert me(client, token).status_code == 200
    with time_machine.travel(start + timedelta(seconds=lifetime + 30), tick=False):
        assert_unauthorized(me(client, token), "token_expired")


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "sub", "aud", "iss", "jti"])
def test_each_required_claim_is_required(app, client, member, claim):
    member_id, _ = member
    token = craft(app, claims_for(app, member_id), drop=(claim,))
    assert_unauthorized(me(client, token), "token_invalid")


def test_unknown_kid(app, client, member):
    member_id, _ = member
    token = craft(app, claims_for(app, member_id), kid="retired-key")
    assert_unauthorized(me(client, token), "token_unknown_key")


def test_missing_kid(app, client, member):
    member_id, _ = member
    token = craft(app, claims_for(app, member_id), kid=None)
    assert_unauthorized(me(client, token), "token_unknown_key")


@pytest.mark.parametrize("typ", ["refresh", "id", "", None])
def test_token_type_must_be_access(app, client, member, typ):
    member_id, _ = member
    claims = claims_for(app, member_id, typ=typ)
    if typ is None:
        del claims["typ"]
    assert_unauthorized(me(client, craft(app, claims)), "token_type")


def test_refresh_token_string_used_as_access_token(client, member):
    _, answer = member
    assert_unauthorized(me(client, answer["refresh_token"]), "token_malformed")


def test_access_token_used_as_refresh_token(client, member):
    _, answer = member
    resp = client.post("/auth/refresh", json={"refresh_token": answer["access_token"][:128]})
    assert_unauthorized(resp, "refresh_token_invalid")


# --- refresh tokens ------------------------------------------------------------------------


def _family_rows(app, refresh_token: str) -> list[RefreshToken]:
    with app.app_context():
        session = get_session()
        row = session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
        )
        assert row is not None
        return list(
            session.scalars(
                select(RefreshToken)
                .where(RefreshToken.family_id == row.family_id)
                .order_by(RefreshToken.id)
            )
        )


def refresh(client, token: str):
    return client.post("/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_the_pair(app, client, member):
    member_id, first = member
    resp = refresh(client, first["refresh_token"])
    assert resp.status_code == 200, resp.get_json()
    second = resp.get_json()
    assert second["token_type"] == "Bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # Both access tokens decode for the same member until they expire.
    for pair in (first, second):
        got = me(client, pair["access_token"])
        assert got.status_code == 200 and got.get_json()["member_id"] == member_id
    rows = _family_rows(app, second["refresh_token"])
    assert len(rows) == 2
    assert rows[0].rotated_at is not None and rows[0].replaced_by_id == rows[1].id
    assert rows[1].rotated_at is None and rows[1].revoked_at is None
    # Refresh tokens are stored as digests, never as given.
    assert all(
        row.token_hash not in (first["refresh_token"], second["refresh_token"]) for row in rows
    )


def test_reused_refresh_token_revokes_the_family(app, client, member):
    _, first = member
    second = refresh(client, first["refresh_token"]).get_json()
    third = refresh(client, second["refresh_token"]).get_json()
    assert "refresh_token" in third

    # The thief (or the victim) replays an already-rotated token.
    assert_unauthorized(refresh(client, first["refresh_token"]), "refresh_token_reused")
    # The newest token of that family is now dead too.
    resp = refresh(client, third["refresh_token"])
    assert_unauthorized(resp)
    assert resp.get_json()["code"] in ("refresh_token_reused", "refresh_token_revoked")
    rows = _family_rows(app, first["refresh_token"])
    assert len(rows) == 3 and all(row.revoked_at is not None for row in rows)


def test_reuse_detection_spares_other_sessions(client, member):
    """Revoking a stolen family logs out that device only, not the member's other logins."""
    _, phone = member
    tablet = login(client, "jwt-member")
    rotated = refresh(client, phone["refresh_token"]).get_json()
    assert_unauthorized(refresh(client, phone["refresh_token"]), "refresh_token_reused")
    assert_unauthorized(refresh(client, rotated["refresh_token"]))
    assert refresh(client, tablet["refresh_token"]).status_code == 200


def test_unknown_refresh_token(client):
    assert_unauthorized(refresh(client, "x" * 43), "refresh_token_invalid")


def test_logout_revokes_the_family(app, client, member):
    _, first = member
    second = refresh(client, first["refresh_token"]).get_json()
    resp = client.post("/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert resp.status_code == 204 and resp.get_data() == b""
    assert_unauthorized(refresh(client, second["refresh_token"]))
    assert all(row.revoked_at is not None for row in _family_rows(app, second["refresh_token"]))


def test_logout_with_an_older_token_of_the_family_also_ends_the_session(client, member):
    _, first = member
    second = refresh(client, first["refresh_token"]).get_json()
    assert (
        client.post("/auth/logout", json={"refresh_token": first["refresh_token"]}).status_code
        == 204
    )
    assert_unauthorized(refresh(client, second["refresh_token"]))


def test_logout_ends_the_access_token_of_that_session_at_once(client, member):
    """The access token issued with a refresh family stops working when the family is logged
    out, not up to 15 minutes later; the member's other sessions keep working."""
    _, phone = member
    tablet = login(client, "jwt-member")
    rotated = refresh(client, phone["refresh_token"]).get_json()
    assert me(client, phone["access_token"]).status_code == 200
    assert (
        client.post("/auth/logout", json={"refresh_token": rotated["refresh_token"]}).status_code
        == 204
    )
    for token in (phone["access_token"], rotated["access_token"]):  # every one of the family
        assert_unauthorized(me(client, token), "refresh_token_revoked")
    assert me(client, tablet["access_token"]).status_code == 200


def test_reuse_detection_ends_the_family_access_tokens_too(client, member):
    _, first = member
    second = refresh(client, first["refresh_token"]).get_json()
    assert_unauthorized(refresh(client, first["refresh_token"]), "refresh_token_reused")
    assert_unauthorized(me(client, second["access_token"]), "refresh_token_revoked")


def test_a_member_token_names_its_session(app, client, member):
    """`rid` (the refresh token it came with) is required, and must be that member's."""
    member_id, answer = member
    assert_unauthorized(
        me(client, craft(app, claims_for(app, member_id), drop=("rid",))), "token_invalid"
    )
    other = login(client, "jwt-other")
    foreign = claims_for(app, member_id, rid=_rid(other["access_token"]))
    assert_unauthorized(me(client, craft(app, foreign)), "refresh_token_revoked")
    assert_unauthorized(
        me(client, craft(app, claims_for(app, member_id, rid="1"))), "token_invalid"
    )


def _audit_events(client, token: str):
    return client.get("/staff/audit-events", headers=bearer(token))


def test_staff_logout_ends_the_access_token_of_that_session_at_once(seeded, client):
    """As for members: a staff access token names its session (`rid`), and a logout (or a
    reuse detected) ends it at once; the same account's other sessions keep working."""
    desk = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)
    laptop = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)
    rotated = refresh(client, desk["refresh_token"]).get_json()
    assert _audit_events(client, desk["access_token"]).status_code == 200
    assert (
        client.post("/auth/logout", json={"refresh_token": rotated["refresh_token"]}).status_code
        == 204
    )
    for token in (desk["access_token"], rotated["access_token"]):
        assert_unauthorized(_audit_events(client, token), "refresh_token_revoked")
    assert _audit_events(client, laptop["access_token"]).status_code == 200
    second = refresh(client, laptop["refresh_token"]).get_json()
    assert_unauthorized(refresh(client, laptop["refresh_token"]), "refresh_token_reused")
    assert_unauthorized(_audit_events(client, second["access_token"]), "refresh_token_revoked")


def test_a_staff_token_names_its_own_session(app, seeded, client):
    """`rid` is required on a staff token, and must be a session of that staff account: a
    reviewer's session cannot vouch for an operator's token, nor a member's session."""
    operator = staff_login(client, "demo-operator", DEMO_STAFF_PASSWORD)
    reviewer = staff_login(client, "demo-reviewer", DEMO_STAFF_PASSWORD)
    claims = jwt.decode(operator["access_token"], options={"verify_signature": False})
    claims["jti"] = uuid.uuid4().hex
    assert _audit_events(client, craft(app, claims)).status_code == 200
    assert_unauthorized(
        _audit_events(client, craft(app, {k: v for k, v in claims.items() if k != "rid"})),
        "token_invalid",
    )
    foreign = {**claims, "rid": _rid(reviewer["access_token"])}
    assert_unauthorized(_audit_events(client, craft(app, foreign)), "refresh_token_revoked")
    member_rid = _rid(login(client, "jwt-staff-rid")["access_token"])
    assert_unauthorized(
        _audit_events(client, craft(app, {**claims, "rid": member_rid})), "refresh_token_revoked"
    )


def test_logout_is_idempotent_for_unknown_tokens(client):
    resp = client.post("/auth/logout", json={"refresh_token": "y" * 43})
    assert resp.status_code == 204


def test_expired_refresh_token(app, client, member):
    _, answer = member
    later = datetime.now(UTC) + timedelta(seconds=app.config["REFRESH_TOKEN_SECONDS"] + 60)
    with time_machine.travel(later, tick=False):
        assert_unauthorized(refresh(client, answer["refresh_token"]), "refresh_token_expired")


# --- key rotation ----------------------------------------------------------------------------

OLD_KEY = "old-signing-key-0123456789abcdef-0123456789"
NEW_KEY = "new-signing-key-fedcba9876543210-9876543210"


def _kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_key_rotation(app_factory):
    old_app = app_factory(JWT_KEYS={"k-old": OLD_KEY})
    old_token = login(old_app.test_client(), "rotating-member")["access_token"]
    assert _kid(old_token) == "k-old"

    # Rotation: the new key signs, the old one still verifies.
    rotated_app = app_factory(JWT_KEYS={"k-new": NEW_KEY, "k-old": OLD_KEY})
    rotated = rotated_app.test_client()
    new_token = login(rotated, "rotating-member")["access_token"]
    assert _kid(new_token) == "k-new"
    assert me(rotated, new_token).status_code == 200
    assert me(rotated, old_token).status_code == 200
    # A token naming the old kid but signed with another ring key is still a forgery.
    forged = craft(
        rotated_app,
        jwt.decode(old_token, options={"verify_signature": False}),
        key=NEW_KEY,
        kid="k-old",
    )
    assert_unauthorized(me(rotated, forged), "token_invalid")
    # The old app never heard of the new key.
    assert_unauthorized(me(old_app.test_client(), new_token), "token_unknown_key")

    # Retirement: once the old kid leaves the ring its tokens are refused.
    retired_app = app_factory(JWT_KEYS={"k-new": NEW_KEY})
    retired = retired_app.test_client()
    old_subject = jwt.decode(old_token, options={"verify_signature": False})["sub"]
    assert f"member:{login(retired, 'rotating-member')['member_id']}" == old_subject
    assert_unauthorized(me(retired, old_token), "token_unknown_key")
    assert me(retired, new_token).status_code == 200


# --- production configuration ----------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _pem_keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


# What a deployment maps its member notifications onto (the mini-program's own template ids).
NOTIFY_TEMPLATES_JSON = json.dumps(
    {
        "claim_*": {"template_id": "TPL-CLAIM", "fields": {"character_string1": "claim_no"}},
        "renewal.*": {"template_id": "TPL-RENEWAL", "fields": {"thing1": "message"}},
    }
)

PROD_JWT_SECRET = "prod-jwt-signing-secret-" + "k" * 24
_PRIVATE_PEM, _PUBLIC_PEM = _pem_keys()
VALID_PRODUCTION_ENV = {
    "HUIMIN_PROFILE": "production",
    # Nothing listens there: building the app must not need the database.
    "DATABASE_URL": "postgresql+psycopg://huimin:secret@db.invalid:5432/huimin",
    "JWT_KEYS": f"prod-1:{PROD_JWT_SECRET}",
    "FIELD_ENCRYPTION_KEY": _b64(b"F" * 32),
    "BLIND_INDEX_KEY": _b64(b"I" * 32),
    "DUPLICATE_CHECK_KEY": _b64(b"K" * 32),
    "CERTIFICATE_SIGNING_KEY": "prod-certificate-signing-key-" + "c" * 20,
    "CAMPAIGN_SIGNING_KEY": "prod-campaign-link-signing-key-" + "q" * 20,
    "WECHAT_ADAPTER": "real",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "wechat-app-secret-0123456789abcdef",
    "BUREAU_ADAPTER": "real",
    "BUREAU_BASE_URL": "https://bureau.invalid/api",
    "BUREAU_APP_ID": "huimin-prod",
    "BUREAU_SECRET": "bureau-secret-0123456789abcdef",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    # WeChat Pay (read by the configuration once payments exist; harmless before).
    "WECHATPAY_ADAPTER": "real",
    "WECHATPAY_MCHID": "1900000109",
    "WECHATPAY_MERCHANT_KEY": _PRIVATE_PEM,
    "WECHATPAY_MERCHANT_SERIAL": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "WECHATPAY_APIV3_KEY": "a" * 32,
    "WECHATPAY_PUBLIC_KEY": _PUBLIC_PEM,
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114232134912410000000000000",
    "WECHATPAY_NOTIFY_URL": "https://huimin.example/payments/wechat/notify",
    "PUBLIC_BASE_URL": "https://huimin.example",
    # Member notifications (WeChat subscription messages) and claim payouts (transfer API).
    "NOTIFIER_BACKEND": "real",
    "NOTIFY_TEMPLATES": NOTIFY_TEMPLATES_JSON,
    "PAYOUT_BACKEND": "real",
    "PAYOUT_BASE_URL": "https://payout.invalid/api",
    "PAYOUT_MERCHANT_ID": "HUIMIN-GZ-01",
    "PAYOUT_SECRET": "payout-shared-secret-0123456789abcdef",
    # Claim documents: encrypted, in an S3-compatible bucket (nothing is contacted at start-up).
    "DOCUMENT_ENCRYPTION_KEY": _b64(b"D" * 32),
    "STORAGE_BACKEND": "s3",
    "STORAGE_S3_ENDPOINT_URL": "https://oss.invalid",
    "STORAGE_S3_BUCKET": "huimin-claim-documents",
    "STORAGE_S3_ACCESS_KEY_ID": "prod-access-key-id",
    "STORAGE_S3_SECRET_ACCESS_KEY": "prod-secret-access-key-0123456789",
}
# Every variable the configuration reads, so the machine's own environment cannot leak in.
_CONFIG_VARIABLES = set(VALID_PRODUCTION_ENV) | {
    "WECHAT_API_BASE",
    "BUREAU_REGION",
    "TEST_DATABASE_URL",
    "NOTIFIER_MINIPROGRAM_STATE",
    "SPONSOR_REPORT_MIN_CELL",
    "STORAGE_LOCAL_DIR",
    "STORAGE_S3_REGION",
    "STORAGE_S3_ADDRESSING_STYLE",
    "DOCUMENT_MAX_BYTES",
    "STORAGE_S3_TIMEOUT_SECONDS",
    "STORAGE_S3_MAX_ATTEMPTS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_TOKEN",
    "READINESS_TIMEOUT_SECONDS",
    "WECHATPAY_API_BASE",
    "DIRECT_TRIAL_RETENTION_DAYS",
}


@pytest.fixture
def production_env(monkeypatch):
    for name in _CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in VALID_PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_valid_production_environment_loads(production_env):
    from app.config import load_config

    for cfg in (load_config("production"), load_config(None)):
        assert cfg.PROFILE == "production"
        assert cfg.TESTING is False and cfg.DEBUG is False
        assert cfg.JWT_KEYS == {"prod-1": PROD_JWT_SECRET}
        assert cfg.FIELD_ENCRYPTION_KEY == b"F" * 32 and cfg.BLIND_INDEX_KEY == b"I" * 32
        assert cfg.WECHAT_ADAPTER == cfg.BUREAU_ADAPTER == "real"
        assert cfg.SERVE_SWAGGER_UI is False and cfg.LOAD_DEMO_DATA is False


def test_production_app_builds_without_a_database(production_env):
    """`create_app` for production opens no connection (so `flask openapi write` runs anywhere)."""
    from app import create_app

    application = create_app("production")
    assert application.config["PROFILE"] == "production"
    assert application.config["TESTING"] is False
    assert application.extensions["db_engine"].url.host == "db.invalid"
    rules = {rule.rule for rule in application.url_map.iter_rules()}
    assert "/me" in rules and "/staff/members/<int:member_id>" in rules
    assert "/docs" not in rules  # no Swagger UI in production
    spec = application.extensions["huimin_api"].spec.to_dict()
    assert "/me/relatives/{relative_id}" in spec["paths"]


_SHORT = "s" * 31  # one byte short of 32
REFUSALS = {
    "jwt-key-short": {"JWT_KEYS": f"prod-1:{_SHORT}"},
    "jwt-ring-has-a-short-key": {"JWT_KEYS": f"prod-2:{PROD_JWT_SECRET},prod-1:{_SHORT}"},
    "jwt-development-key": {
        "JWT_KEYS": "prod-1:dev-only-jwt-signing-key-do-not-use-in-production!!"
    },
    "jwt-keys-missing": {"JWT_KEYS": None},
    "jwt-keys-malformed": {"JWT_KEYS": "no-kid-separator"},
    "database-missing": {"DATABASE_URL": None},
    "database-sqlite": {"DATABASE_URL": "sqlite:////var/lib/huimin/huimin.sqlite3"},
    "database-sqlite-memory": {"DATABASE_URL": "sqlite://"},
    "database-mysql": {"DATABASE_URL": "mysql://huimin@db.invalid/huimin"},
    "field-key-missing": {"FIELD_ENCRYPTION_KEY": None},
    "field-key-short": {"FIELD_ENCRYPTION_KEY": _b64(b"F" * 16)},
    "field-key-not-base64": {"FIELD_ENCRYPTION_KEY": "not base64 at all!" * 4},
    "index-key-missing": {"BLIND_INDEX_KEY": None},
    "index-key-short": {"BLIND_INDEX_KEY": _b64(b"I" * 31)},
    "field-and-index-key-equal": {"BLIND_INDEX_KEY": _b64(b"F" * 32)},
    "field-key-development": {"FIELD_ENCRYPTION_KEY": _b64(b"dev-only-field-encryption-key-32")},
    "index-key-development": {"BLIND_INDEX_KEY": _b64(b"dev-only-blind-index-key-32bytes")},
    "field-key-testing": {"FIELD_ENCRYPTION_KEY": _b64(b"test-field-encryption-key-32byte")},
    "jwt-testing-key": {"JWT_KEYS": "prod-1:test-jwt-signing-key-0123456789abcdef"},
    "document-key-testing": {"DOCUMENT_ENCRYPTION_KEY": _b64(b"test-document-encryption-key-32b")},
    "duplicate-key-missing": {"DUPLICATE_CHECK_KEY": None},
    "duplicate-key-short": {"DUPLICATE_CHECK_KEY": _b64(b"K" * 31)},
    "duplicate-key-development": {"DUPLICATE_CHECK_KEY": _b64(b"dev-only-duplicate-check-key-32b")},
    "duplicate-key-testing": {"DUPLICATE_CHECK_KEY": _b64(b"test-duplicate-check-key-32bytes")},
    "duplicate-key-equals-index-key": {"DUPLICATE_CHECK_KEY": _b64(b"I" * 32)},
    "duplicate-key-equals-document-key": {"DUPLICATE_CHECK_KEY": _b64(b"D" * 32)},
    "trial-retention-zero": {"DIRECT_TRIAL_RETENTION_DAYS": "0"},
    "certificate-key-missing": {"CERTIFICATE_SIGNING_KEY": None},
    "certificate-key-short": {"CERTIFICATE_SIGNING_KEY": _SHORT},
    "certificate-key-development": {
        "CERTIFICATE_SIGNING_KEY": "dev-only-certificate-signing-key-do-not-use-in-prod!"
    },
    "campaign-key-missing": {"CAMPAIGN_SIGNING_KEY": None},
    "campaign-key-short": {"CAMPAIGN_SIGNING_KEY": _SHORT},
    "campaign-key-development": {
        "CAMPAIGN_SIGNING_KEY": "dev-only-campaign-link-signing-key-do-not-use-in-prod!"
    },
    "campaign-key-equals-certificate-key": {
        "CAMPAIGN_SIGNING_KEY": "prod-certificate-signing-key-" + "c" * 20
    },
    "report-min-cell-zero": {"SPONSOR_REPORT_MIN_CELL": "0"},
    "report-min-cell-not-a-number": {"SPONSOR_REPORT_MIN_CELL": "five"},
    "wechat-sandbox": {"WECHAT_ADAPTER": "sandbox"},
    "wechat-adapter-unknown": {"WECHAT_ADAPTER": "fake"},
    "wechat-secret-missing": {"WECHAT_SECRET": None},
    # the sandbox's mini-program, merchant and loopback notify URL are no production defaults
    "wechat-appid-missing": {"WECHAT_APPID": None},
    "wechatpay-mchid-missing": {"WECHATPAY_MCHID": None},
    "wechatpay-notify-url-missing": {"WECHATPAY_NOTIFY_URL": None},
    "bureau-sandbox": {"BUREAU_ADAPTER": "sandbox"},
    "bureau-url-missing": {"BUREAU_BASE_URL": None},
    "bureau-app-id-missing": {"BUREAU_APP_ID": None},
    "bureau-secret-missing": {"BUREAU_SECRET": None},
    "redis-missing": {"REDIS_URL": None},
    "metrics-token-short": {"METRICS_TOKEN": _SHORT},
    "log-format-unknown": {"LOG_FORMAT": "xml"},
    "notifier-sandbox": {"NOTIFIER_BACKEND": "sandbox"},
    "notifier-backend-unknown": {"NOTIFIER_BACKEND": "email"},
    "notifier-state-unknown": {"NOTIFIER_MINIPROGRAM_STATE": "beta"},
    # the real notifier with no kind mapped to a WeChat template would deliver nothing
    "notify-templates-missing": {"NOTIFY_TEMPLATES": None},
    "notify-templates-not-json": {"NOTIFY_TEMPLATES": "claim_paid=TPL"},
    "notify-templates-without-keys": {"NOTIFY_TEMPLATES": '{"claim_paid": {"template_id": "T"}}'},
    "payout-sandbox": {"PAYOUT_BACKEND": "sandbox"},
    "payout-url-missing": {"PAYOUT_BASE_URL": None},
    "payout-url-plain-http": {"PAYOUT_BASE_URL": "http://payout.invalid/api"},
    "payout-merchant-missing": {"PAYOUT_MERCHANT_ID": None},
    "payout-secret-missing": {"PAYOUT_SECRET": None},
    "payout-secret-short": {"PAYOUT_SECRET": _SHORT},
    "document-key-missing": {"DOCUMENT_ENCRYPTION_KEY": None},
    "document-key-short": {"DOCUMENT_ENCRYPTION_KEY": _b64(b"D" * 31)},
    "document-key-too-long": {"DOCUMENT_ENCRYPTION_KEY": _b64(b"D" * 33)},
    "document-key-development": {
        "DOCUMENT_ENCRYPTION_KEY": _b64(b"dev-only-document-storage-key-32")
    },
    "document-key-equals-field-key": {"DOCUMENT_ENCRYPTION_KEY": _b64(b"F" * 32)},
    "storage-backend-unknown": {"STORAGE_BACKEND": "ftp"},
    "storage-local-without-explicit-dir": {"STORAGE_BACKEND": "local"},
    "storage-s3-bucket-missing": {"STORAGE_S3_BUCKET": None},
    "storage-s3-secret-missing": {"STORAGE_S3_SECRET_ACCESS_KEY": None},
    "storage-s3-plain-http": {"STORAGE_S3_ENDPOINT_URL": "http://oss.invalid"},
}


@pytest.mark.parametrize("change", list(REFUSALS.values()), ids=list(REFUSALS))
def test_production_refuses_unsafe_configuration(production_env, change):
    from app import create_app
    from app.config import ConfigurationError, load_config

    for name, value in change.items():
        if value is None:
            production_env.delenv(name, raising=False)
        else:
            production_env.setenv(name, value)
    with pytest.raises(ConfigurationError):
        load_config("production")
    # The same refusal when the service starts (HUIMIN_PROFILE=production, no explicit profile).
    with pytest.raises(ConfigurationError):
        create_app()


def test_refusal_messages_name_the_problem_without_the_secret(production_env):
    from app.config import ConfigurationError, load_config

    production_env.setenv("JWT_KEYS", f"prod-1:{_SHORT}")
    with pytest.raises(ConfigurationError) as raised:
        load_config("production")
    assert "32" in str(raised.value) and _SHORT not in str(raised.value)


def test_testing_profile_is_not_production(production_env):
    """The test profile never reads production secrets from the environment."""
    from app.config import load_config

    cfg = load_config("testing")
    assert cfg.PROFILE == "testing"
    assert PROD_JWT_SECRET not in cfg.JWT_KEYS.values()
