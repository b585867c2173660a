"""JWT access tokens (PyJWT) with a key ring for rotation, and opaque refresh-token material.

Hardening (QUALITY.md): HS256 only; exp, iat, nbf, sub, aud, iss, jti required; `kid` must name a
key in the ring; `typ` must be "access" (a refresh token can never be used as an access token,
and refresh tokens are opaque anyway).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "aud", "iss", "jti"]


class TokenInvalid(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class IssuedAccess:
    token: str
    expires_in: int
    jti: str


class TokenService:
    def __init__(self, keys: dict[str, str], issuer: str, access_seconds: int) -> None:
        if not keys:
            raise ValueError("no JWT keys")
        self._keys = dict(keys)
        self._signing_kid = next(iter(self._keys))
        self._issuer = issuer
        self._access_seconds = access_seconds

    def issue_access(
        self, subject: str, audience: str, extra: dict | None = None, now: datetime | None = None
    ) -> IssuedAccess:
        now = now or datetime.now(UTC)
        jti = uuid.uuid4().hex
        claims = {
            "iss": self._issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=self._access_seconds),
            "jti": jti,
            "typ": "access",
        }
        claims.update(extra or {})
        token = jwt.encode(
            claims,
            self._keys[self._signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self._signing_kid},
        )
        return IssuedAccess(token=token, expires_in=self._access_seconds, jti=jti)

    def decode_access(self, token: str, audience: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("token_malformed") from None
        if header.get("alg") != ALGORITHM:
            raise TokenInvalid("token_algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self._keys:
            raise TokenInvalid("token_unknown_key")
        try:
            claims = jwt.decode(
                token,
                self._keys[kid],
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid("token_expired") from None
        except jwt.InvalidAudienceError:
            raise TokenInvalid("token_audience") from None
        except jwt.PyJWTError:
            raise TokenInvalid("token_invalid") from None
        if claims.get("typ") != "access":
            raise TokenInvalid("token_type")
        return claims


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, digest to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def credential_fingerprint(password_hash: str) -> str:
    """A short digest of a staff password hash (never the hash itself) for a token to carry."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]
