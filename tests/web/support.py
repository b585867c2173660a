"""Helpers for page tests: sign in through the sign-in form, read a page's CSRF token."""

from __future__ import annotations

import re

from app.demo.seed import DEMO_STAFF_PASSWORD

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def page_csrf(client, path: str = "/console/sign-in") -> str:
    """The CSRF token a page carries (its <meta name="csrf-token">)."""
    resp = client.get(path)
    assert resp.status_code == 200, resp.status_code
    found = _CSRF.search(resp.get_data(as_text=True))
    assert found, "no csrf-token meta on the page"
    return found.group(1)


def sign_in(client, username: str, password: str = DEMO_STAFF_PASSWORD, **extra):
    """POST the sign-in form with the form's own CSRF token; returns the response."""
    token = page_csrf(client)
    return client.post(
        "/console/sign-in",
        data={"username": username, "password": password, "csrf_token": token, **extra},
    )


def signed_in(client, username: str, password: str = DEMO_STAFF_PASSWORD) -> str:
    """Sign in (asserting it worked); returns the session's CSRF token for later POSTs."""
    resp = sign_in(client, username, password)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return page_csrf(client, "/console/")


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("huimin_console", path="/console")
    return cookie.value if cookie else None
