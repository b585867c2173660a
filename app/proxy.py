"""The client's real address behind the reverse proxy.

Behind a proxy every request comes from the proxy's address, so rate limits keyed on the socket
address would be one budget for the whole city. werkzeug's `ProxyFix` takes the client address
from the last `PROXY_HOPS` entries of `X-Forwarded-For` (and the scheme from
`X-Forwarded-Proto`), but it believes whoever sent the header. So it is applied only when the
socket peer is a trusted proxy: an address in `FORWARDED_ALLOW_IPS` (the same variable, and the
same meaning, as gunicorn's setting in gunicorn.conf.py: comma-separated addresses or networks,
`*` for any) or a unix-socket peer, which only processes on this host can be and which gunicorn
trusts too. A request straight from anywhere else keeps its socket address, whatever it claims.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allow_list(value: str) -> list[Network] | None:
    """`FORWARDED_ALLOW_IPS` as networks; None means any peer (`*`). Raises ValueError."""
    entries = [part.strip() for part in value.split(",") if part.strip()]
    if "*" in entries:
        return None
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def valid_allow_list(value: str) -> bool:
    try:
        parse_allow_list(value)
    except ValueError:
        return False
    return True


def peer_is_trusted(remote_addr: str | None, allowed: Iterable[Network] | None) -> bool:
    if allowed is None:
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        # Not an IP address: a unix-socket peer (gunicorn passes the socket's name, or "").
        return True
    return any(address in network for network in allowed)


class TrustedProxyFix:
    """WSGI middleware: ProxyFix for requests whose socket peer is a trusted proxy only."""

    def __init__(self, wsgi_app: Callable, hops: int, allow_list: str) -> None:
        self.wsgi_app = wsgi_app
        self.hops = hops
        self.allowed = parse_allow_list(allow_list)
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=hops)

    def __call__(self, environ, start_response):
        if self.hops > 0 and peer_is_trusted(environ.get("REMOTE_ADDR"), self.allowed):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)
