"""With REDIS_URL set (as in production and in CI's PostgreSQL run), rate-limit counters live in
Redis and are shared by every worker: two app instances see one budget."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import CONSENT, bearer, login

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL")


def test_verification_limit_is_shared_through_redis(app_factory, seeded, residents):
    prefix = f"huimin-test-{uuid.uuid4().hex[:8]}"
    settings = dict(REDIS_URL=REDIS_URL, RATE_LIMIT_VERIFY_PER_TARGET="2 per hour")
    first = app_factory(**settings)
    first.config["RATELIMIT_KEY_PREFIX"] = prefix
    assert first.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    target = residents["王芳"]
    wrong = {"name": "王不对", "id_number": target.certno, "consent": CONSENT}
    c1 = first.test_client()
    for code in ("a1", "a2"):
        token = login(c1, code)["access_token"]
        assert c1.post("/me/identity", headers=bearer(token), json=wrong).status_code == 422
    second = app_factory(**settings)  # another worker
    second.config["RATELIMIT_KEY_PREFIX"] = prefix
    c2 = second.test_client()
    token = login(c2, "a3")["access_token"]
    resp = c2.post("/me/identity", headers=bearer(token), json=wrong)
    assert resp.status_code == 429 and resp.get_json()["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) > 0
