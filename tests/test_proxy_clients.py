"""Behind the reverse proxy (same host, 127.0.0.1) rate limits count each real client, taken from
X-Forwarded-For; a request straight from anywhere else cannot choose its address with that
header (app/proxy.py)."""

from __future__ import annotations

import pytest

from app.config import ConfigurationError, load_config
from app.proxy import parse_allow_list, peer_is_trusted

PROXY = "127.0.0.1"


def _login(client, code: str, *, peer: str, forwarded_for: str | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(
        "/auth/wechat/login",
        json={"code": code},
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    )


@pytest.fixture
def limited(app_factory):
    return app_factory(RATE_LIMIT_LOGIN="2 per minute").test_client()


def test_two_clients_behind_the_proxy_have_separate_budgets(limited):
    first = [
        _login(limited, f"a{i}", peer=PROXY, forwarded_for="203.0.113.5").status_code
        for i in range(3)
    ]
    assert first == [200, 200, 429]
    # Another client through the same proxy: its own budget, not the city's.
    second = [
        _login(limited, f"b{i}", peer=PROXY, forwarded_for="198.51.100.7").status_code
        for i in range(3)
    ]
    assert second == [200, 200, 429]


def test_a_client_cannot_escape_its_budget_by_prefixing_the_header(limited):
    """The proxy appends the address it saw; what the client wrote before it is not believed."""
    answers = [
        _login(limited, f"c{i}", peer=PROXY, forwarded_for=f"10.9.8.{i}, 203.0.113.77").status_code
        for i in range(3)
    ]
    assert answers == [200, 200, 429]


def test_a_spoofed_header_from_outside_the_trusted_proxies_is_ignored(limited):
    answers = [
        _login(limited, f"d{i}", peer="192.0.2.50", forwarded_for=f"203.0.113.{i}").status_code
        for i in range(3)
    ]
    assert answers == [200, 200, 429]  # counted on 192.0.2.50, whatever it claimed
    # ... and it did not spend the budget of the address it claimed to be.
    assert _login(limited, "e0", peer=PROXY, forwarded_for="203.0.113.0").status_code == 200


def test_the_application_sees_the_real_client_address(app_factory):
    application = app_factory(FORWARDED_ALLOW_IPS="10.0.0.0/8")

    @application.route("/_tests/address")
    def address():
        from flask import request

        return {"remote_addr": request.remote_addr, "scheme": request.scheme}

    client = application.test_client()
    via_proxy = client.get(
        "/_tests/address",
        headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    ).get_json()
    assert via_proxy == {"remote_addr": "203.0.113.5", "scheme": "https"}
    direct = client.get(
        "/_tests/address",
        headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},  # not in this app's list
    ).get_json()
    assert direct == {"remote_addr": "127.0.0.1", "scheme": "http"}


def test_no_proxy_hops_means_the_socket_address(app_factory):
    client = app_factory(PROXY_HOPS=0, RATE_LIMIT_LOGIN="1 per minute").test_client()
    assert _login(client, "f0", peer=PROXY, forwarded_for="203.0.113.5").status_code == 200
    assert _login(client, "f1", peer=PROXY, forwarded_for="198.51.100.7").status_code == 429


@pytest.mark.parametrize(
    ("allow", "peer", "trusted"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("127.0.0.1,::1", "::1", True),
        ("10.0.0.0/8, 192.168.1.10", "10.200.3.4", True),
        ("10.0.0.0/8, 192.168.1.10", "192.168.1.11", False),
        ("*", "198.51.100.1", True),
        ("127.0.0.1", "", True),  # a unix-socket peer (gunicorn trusts it too)
        ("127.0.0.1", None, True),
    ],
)
def test_which_peers_are_trusted(allow, peer, trusted):
    assert peer_is_trusted(peer, parse_allow_list(allow)) is trusted


def test_settings_come_from_the_environment_gunicorn_reads(monkeypatch):
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.1,10.0.0.2")
    monkeypatch.setenv("PROXY_HOPS", "2")
    cfg = load_config("development")
    assert (cfg.FORWARDED_ALLOW_IPS, cfg.PROXY_HOPS) == ("10.0.0.1,10.0.0.2", 2)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "not-an-address")
    with pytest.raises(ConfigurationError):
        load_config("development")
