"""Rate limits: identity verification per member, per target identity and globally (checked in
the service), and the login route (flask-limiter decorator). Storage is in memory here; each
app built by app_factory starts with fresh counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import CONSENT, bearer, login, seed_app, verify

PROBLEM = "application/problem+json"
LIMITS = dict(
    RATE_LIMIT_VERIFY_PER_USER="3 per hour",
    RATE_LIMIT_VERIFY_PER_TARGET="2 per hour",
    RATE_LIMIT_VERIFY_GLOBAL="5 per minute",
)


@pytest.fixture
def limited(app_factory):
    return seed_app(app_factory(**LIMITS))


@pytest.fixture
def lclient(limited):
    return limited.test_client()


class CountingBureau:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def lookup_person(self, certno, name):
        self.calls += 1
        return self.inner.lookup_person(certno, name)


def counting(app) -> CountingBureau:
    from app.integrations.bureau.sandbox import SandboxBureau

    app.extensions["bureau"] = bureau = CountingBureau(SandboxBureau())
    return bureau


def attempt(client, token, resident, name=None):
    return client.post(
        "/me/identity",
        headers=bearer(token),
        json={"name": name or resident.name, "id_number": resident.certno, "consent": CONSENT},
    )


def assert_rate_limited(resp, max_retry: int) -> int:
    assert resp.status_code == 429, resp.get_json()
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.get_json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"])
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= max_retry
    return retry


def test_per_member_limit(lclient, limited, residents):
    bureau = counting(limited)
    token = login(lclient, "member-a")["access_token"]
    # three attempts on three different people (wrong names): under the per-target limit
    for who in ("张伟", "李娜", "刘强"):
        resp = attempt(lclient, token, residents[who], name="无名氏")
        assert resp.status_code == 422 and resp.get_json()["code"] == "identity_not_matched"
    # the fourth, even with the right name, is refused before the bureau is asked
    resp = attempt(lclient, token, residents["陈静"])
    retry = assert_rate_limited(resp, max_retry=3601)
    assert retry > 3000  # the hour window just started
    assert bureau.calls == 3
    assert lclient.get("/me", headers=bearer(token)).get_json()["identity_verified"] is False

    # another member is not affected
    other = login(lclient, "member-b")["access_token"]
    assert attempt(lclient, other, residents["陈静"]).status_code == 200


def test_per_target_limit_across_members(lclient, limited, residents):
    bureau = counting(limited)
    zhang = residents["张伟"]
    a = login(lclient, "member-a")["access_token"]
    for _ in range(2):
        assert attempt(lclient, a, zhang, name="张三").status_code == 422
    # a different member, the same target identity, the right name: refused
    b = login(lclient, "member-b")["access_token"]
    assert_rate_limited(attempt(lclient, b, zhang), max_retry=3601)
    assert bureau.calls == 2
    # member B can still verify someone else: it was the target that was limited
    assert attempt(lclient, b, residents["李娜"]).status_code == 200


def test_global_limit_across_members(lclient, limited, residents):
    people = ["张伟", "李娜", "张建国", "王芳", "刘强"]
    for i, who in enumerate(people):
        token = login(lclient, f"member-{i}")["access_token"]
        assert attempt(lclient, token, residents[who]).status_code == 200, who
    late = login(lclient, "member-late")["access_token"]
    assert_rate_limited(attempt(lclient, late, residents["陈静"]), max_retry=61)

    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        resp = attempt(lclient, late, residents["陈静"])
        assert resp.status_code == 200, resp.get_json()


def test_refresh_counts_against_the_limits(app_factory, residents):
    app = seed_app(
        app_factory(RATE_LIMIT_VERIFY_PER_USER="1 per hour", VERIFICATION_MAX_AGE_SECONDS=0)
    )
    client = app.test_client()
    token = login(client, "member-a")["access_token"]
    assert verify(client, token, residents["张伟"]).status_code == 200
    resp = client.post("/me/identity/refresh", headers=bearer(token))
    assert_rate_limited(resp, max_retry=3601)


def test_refused_attempts_of_one_member_do_not_drain_the_global_budget(lclient, limited, residents):
    a = login(lclient, "member-a")["access_token"]
    for who in ("张伟", "李娜", "刘强"):
        assert attempt(lclient, a, residents[who], name="无名氏").status_code == 422
    for _ in range(3):  # refused by the per-member limit
        assert attempt(lclient, a, residents["陈静"]).status_code == 429
    # only 3 attempts reached the bureau; a second member's first attempt is the 4th of 5
    b = login(lclient, "member-b")["access_token"]
    assert attempt(lclient, b, residents["陈静"]).status_code == 200


def test_full_width_digits_do_not_sidestep_the_per_target_limit(lclient, limited, residents):
    father = residents["张建国"]
    assert father.certno.endswith("X")
    a = login(lclient, "member-a")["access_token"]
    for _ in range(2):
        assert attempt(lclient, a, father, name="张三").status_code == 422
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in father.certno[:17]) + "X"
    b = login(lclient, "member-b")["access_token"]
    resp = lclient.post(
        "/me/identity",
        headers=bearer(b),
        json={"name": father.name, "id_number": full_width, "consent": CONSENT},
    )
    assert resp.status_code == 429


def test_login_route_limit(app_factory):
    app = app_factory(RATE_LIMIT_LOGIN="3 per minute")
    client = app.test_client()
    for i in range(3):
        assert client.post("/auth/wechat/login", json={"code": f"c{i}"}).status_code == 200
    resp = client.post("/auth/wechat/login", json={"code": "c3"})
    assert_rate_limited(resp, max_retry=61)
    # the limit is keyed on the client address: another address may still log in
    other = client.post(
        "/auth/wechat/login", json={"code": "c4"}, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert other.status_code == 200
    # and the window ends
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        assert client.post("/auth/wechat/login", json={"code": "c5"}).status_code == 200
