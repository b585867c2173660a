"""The console's session: sign-in, cookie flags, CSRF, session fixation, idle timeout, sign-out,
disabled accounts, the `next` redirect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import StaffAccount, StaffWebSession
from app.database import get_session
from tests.web.support import page_csrf, session_cookie, sign_in, signed_in

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _set_cookie_headers(resp) -> list[str]:
    return resp.headers.getlist("Set-Cookie")


def test_signed_out_page_redirects_to_sign_in_with_next(seeded):
    resp = seeded.test_client().get("/console/?x=1")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/console/sign-in?next=/console/?x%3D1"


def test_sign_in_sets_a_hardened_cookie_and_audits(seeded):
    client = seeded.test_client()
    resp = sign_in(client, "demo-reviewer")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/"
    (cookie,) = [c for c in _set_cookie_headers(resp) if c.startswith("huimin_console=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # the testing profile serves plain http
    home = client.get("/console/")
    assert home.status_code == 200 and "理赔审核员（演示）" in home.get_data(as_text=True)
    assert home.headers["Content-Security-Policy"].startswith("default-src 'self'")
    with seeded.app_context():
        row = get_session().scalar(select(StaffWebSession))
        assert row.token_hash != session_cookie(client)  # only the digest is stored
        actions = get_session().scalars(select(AuditEvent.action)).all()
        assert actions.count("staff.login") == 1


def test_cookie_is_secure_outside_development_and_testing(app_factory):
    from tests.conftest import seed_app

    application = seed_app(app_factory(WEB_COOKIE_SECURE=True))
    client = application.test_client()
    resp = sign_in(client, "demo-operator")
    (cookie,) = [c for c in _set_cookie_headers(resp) if c.startswith("huimin_console=")]
    assert "Secure" in cookie


def test_wrong_password_is_a_page_not_a_session(seeded):
    client = seeded.test_client()
    resp = sign_in(client, "demo-reviewer", "wrong-password-123")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    assert session_cookie(client) is None


@pytest.mark.parametrize("how", ["missing", "wrong", "other_origin"])
def test_sign_in_without_the_forms_csrf_token_is_refused(seeded, how):
    client = seeded.test_client()
    token = page_csrf(client)
    data = {"username": "demo-reviewer", "password": "huimin-demo-2026"}
    headers = {}
    if how == "wrong":
        data["csrf_token"] = token[:-2] + "xx"
    elif how == "other_origin":
        data["csrf_token"] = token
        headers["Origin"] = "https://evil.example"
    resp = client.post("/console/sign-in", data=data, headers=headers)
    assert resp.status_code == 403
    assert "页面已过期或请求来源无效" in resp.get_data(as_text=True)
    assert session_cookie(client) is None


def test_signed_in_post_needs_the_sessions_token_not_the_sign_in_forms(seeded):
    client = seeded.test_client()
    anonymous_token = page_csrf(client)
    session_token = signed_in(client, "demo-reviewer")
    assert session_token != anonymous_token
    refused = client.post("/console/sign-out", data={"csrf_token": anonymous_token})
    assert refused.status_code == 403
    assert client.get("/console/").status_code == 200  # still signed in
    # The header works as well as the form field (fetch() from console.js).
    done = client.post("/console/sign-out", headers={"X-CSRF-Token": session_token})
    assert done.status_code == 302 and done.headers["Location"] == "/console/sign-in"


def test_a_made_up_session_token_is_replaced_at_sign_in(seeded):
    """Session fixation: a token planted in the browser before sign-in is never upgraded; the
    session always gets a token the server made, and the planted value stays worthless."""
    victim = seeded.test_client()
    planted = "attacker-chosen-value-0123456789abcdefghijklmnop"
    victim.set_cookie("huimin_console", planted, path="/console")
    resp = sign_in(victim, "demo-reviewer")
    assert resp.status_code == 302
    fresh = session_cookie(victim)
    assert fresh and fresh != planted
    replay = seeded.test_client()
    replay.set_cookie("huimin_console", planted, path="/console")
    assert replay.get("/console/").status_code == 302


def test_signing_in_over_a_planted_live_session_ends_it(seeded):
    """A live session planted in the victim's browser (the attacker's own) is ended when the
    victim signs in, and the victim's session has a new token the attacker does not know."""
    attacker = seeded.test_client()
    signed_in(attacker, "demo-operator")
    planted = session_cookie(attacker)
    victim = seeded.test_client()
    victim.set_cookie("huimin_console", planted, path="/console")
    csrf = page_csrf(victim, "/console/")  # the page the planted session shows
    resp = victim.post(
        "/console/sign-in",
        data={"username": "demo-reviewer", "password": "huimin-demo-2026", "csrf_token": csrf},
    )
    assert resp.status_code == 302
    fresh = session_cookie(victim)
    assert fresh and fresh != planted
    assert attacker.get("/console/").status_code == 302  # the planted session is over
    page = victim.get("/console/").get_data(as_text=True)
    assert "理赔审核员（演示）" in page and "运营值班员" not in page


def test_idle_session_times_out(seeded):
    client = seeded.test_client()
    idle = seeded.config["WEB_SESSION_IDLE_SECONDS"]
    with time_machine.travel(NOW, tick=False) as traveller:
        signed_in(client, "demo-reviewer")
        traveller.shift(timedelta(seconds=idle - 5))
        assert client.get("/console/").status_code == 200  # a request resets the idle clock
        traveller.shift(timedelta(seconds=idle - 5))
        assert client.get("/console/").status_code == 200
        traveller.shift(timedelta(seconds=idle + 1))
        resp = client.get("/console/")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/console/sign-in?next=/console/&expired=1"
    assert session_cookie(client) is None  # the dead cookie is cleared
    assert "会话已超时" in client.get(resp.headers["Location"]).get_data(as_text=True)
    with seeded.app_context():
        assert get_session().scalar(select(StaffWebSession.ended_at)) is not None


def test_session_ends_at_its_maximum_age_even_when_busy(seeded):
    client = seeded.test_client()
    cfg = seeded.config
    with time_machine.travel(NOW, tick=False) as traveller:
        signed_in(client, "demo-reviewer")
        step = cfg["WEB_SESSION_IDLE_SECONDS"] - 60
        elapsed = 0
        while elapsed + step <= cfg["WEB_SESSION_MAX_SECONDS"]:
            traveller.shift(timedelta(seconds=step))
            elapsed += step
            assert client.get("/console/").status_code == 200
        traveller.shift(timedelta(seconds=cfg["WEB_SESSION_MAX_SECONDS"] - elapsed + 1))
        assert client.get("/console/").status_code == 302


def test_sign_out_ends_the_session_on_the_server(seeded):
    client = seeded.test_client()
    token = signed_in(client, "demo-reviewer")
    stolen = session_cookie(client)
    client.post("/console/sign-out", data={"csrf_token": token})
    replay = seeded.test_client()
    replay.set_cookie("huimin_console", stolen, path="/console")
    assert replay.get("/console/").status_code == 302


def test_a_disabled_account_loses_its_session_at_once(seeded):
    client = seeded.test_client()
    signed_in(client, "demo-reviewer")
    with seeded.app_context():
        from app.database import transaction

        with transaction() as session:
            account = session.scalar(
                select(StaffAccount).where(StaffAccount.username == "demo-reviewer")
            )
            account.active = False
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/console/",
        "//evil.example/console/",
        "/other",
        "/console\\@evil",
        "/console/\r\nSet-Cookie: x=1",  # a header may not carry a line break: was a 500
    ],
)
def test_sign_in_never_redirects_off_the_console(seeded, target):
    client = seeded.test_client()
    resp = sign_in(client, "demo-reviewer", next=target)
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/"


def test_sign_in_redirects_to_a_console_next(seeded):
    client = seeded.test_client()
    resp = sign_in(client, "demo-reviewer", next="/console/claims?status=pending_review")
    assert resp.headers["Location"] == "/console/claims?status=pending_review"


def test_page_errors_are_chinese_html(seeded):
    client = seeded.test_client()
    signed_in(client, "demo-reviewer")
    resp = client.get("/console/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "页面或记录不存在" in html
    assert "退出登录" in html  # still signed in: the header, its menu and sign-out are there
    assert "退出登录" not in seeded.test_client().get("/console/no-such-page").get_data(
        as_text=True
    )
    api = client.get("/no-such-endpoint")  # the API keeps its problem answer
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_a_signed_in_sign_in_page_with_a_line_break_in_next_goes_home(seeded):
    """GET /console/sign-in?next=... while signed in redirects at once: a CR/LF in `next`
    could not go into the Location header (it was a 500)."""
    client = seeded.test_client()
    signed_in(client, "demo-reviewer")
    resp = client.get("/console/sign-in?next=/console/%0d%0a")
    assert resp.status_code == 302 and resp.headers["Location"] == "/console/"


def test_pages_name_their_icon_so_browsers_do_not_ask_for_favicon_ico(seeded):
    """Every page links the site icon; without it each page view logged a 404 for /favicon.ico."""
    client = seeded.test_client()
    for path in ("/console/sign-in", "/disclosure"):
        html = client.get(path).get_data(as_text=True)
        assert '<link rel="icon" type="image/svg+xml" href="/static/web/favicon.svg">' in html, path
    icon = client.get("/static/web/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
