"""SM2 signatures (GB/T 32918.2) over SM3, with the default user id 1234567812345678 that the
national platform's SDKs use for Z_A.

The curve arithmetic is `fastecdsa`'s (compiled, any short-Weierstrass curve), where `gmssl`'s
pure-Python one took about 75 ms and held the GIL (docs/performance.md). SM3 is OpenSSL's,
through `cryptography`. `gmssl` stays in the tests as the reference implementation this one is
checked against.

A verification's sG + tP is computed by the system's OpenSSL (libcrypto, through ctypes:
openssl_ec.py) when it has the SM2 curve, about 0.3 ms. Without it, by fastecdsa's compiled
ECDSA verification, which does
u1 G + u2 Q at once (Shamir's trick: about 0.9 ms, against 1.9 ms for two multiplications and an
addition). ECDSA with signature (r', s') and hash z checks x(u1 G + u2 Q) = r' (mod n) with
u1 = z / s', u2 = r' / s'. SM2 needs x1 = r - e (mod n) for (x1, y1) = sG + tP, so with
v = (r - e) mod n: r' = v, s' = v / t, z = s v / t gives u1 = s, u2 = t, and the ECDSA check is
exactly SM2's. (v = 0 is left to the two multiplications: ECDSA refuses r' = 0.)

    verify: 1 <= r, s < n;  t = (r + s) mod n != 0;  (x1, y1) = sG + tP;  R = (e + x1) mod n == r
    sign:   k random;  (x1, y1) = kG;  r = (e + x1) mod n;  s = (1 + d)^-1 (k - r d) mod n
    e = SM3(Z_A || M),  Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from fastecdsa import ecdsa
from fastecdsa.curve import Curve
from fastecdsa.point import Point

from app.integrations.signer import openssl_ec

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

CURVE = Curve("SM2", P, A, B, N, GX, GY)
# sG + tP by the system's OpenSSL when it has the SM2 curve (openssl_ec.py: about 0.3 ms against
# fastecdsa's 0.9-1.1 ms); fastecdsa otherwise. The tests run both.
OPENSSL = True
G = CURVE.G
INFINITY = 0 * G
DEFAULT_USER_ID = b"1234567812345678"

_HEX = re.compile(r"[0-9a-fA-F]+")


def _hex(value: str, length: int) -> bool:
    # fullmatch: "^...$" would let a final newline through ($ matches before it)
    return isinstance(value, str) and len(value) == length and bool(_HEX.fullmatch(value))


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _b32(value: int) -> bytes:
    return value.to_bytes(32, "big")


@lru_cache(maxsize=256)
def _public_point(public_key_hex: str) -> Point | None:
    """The public key's point, or None when it is not a point of the curve (or is G's
    identity). Coordinates are range-checked first: fastecdsa panics on one >= p."""
    x, y = int(public_key_hex[:64], 16), int(public_key_hex[64:], 16)
    if not (0 <= x < P and 0 <= y < P):
        return None
    try:
        point = Point(x, y, CURVE)
    except ValueError:
        return None
    return None if point == INFINITY else point


@lru_cache(maxsize=256)
def _za(x: int, y: int, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(entl + user_id + b"".join(_b32(v) for v in (A, B, GX, GY, x, y)))


def digest_e(x: int, y: int, message: bytes) -> int:
    """e = SM3(Z_A || M) as an integer, for the signer whose public key is (x, y)."""
    return int.from_bytes(sm3(_za(x, y) + message), "big")


class Sm2Signer:
    scheme = "SM2-SM3"

    def is_public_key(self, public_key_hex: str) -> bool:
        """128 hex digits naming a point of the curve (not the point at infinity)."""
        return _hex(public_key_hex, 128) and _public_point(public_key_hex.lower()) is not None

    def public_key_of(self, private_key_hex: str) -> str:
        if not _hex(private_key_hex, 64):
            raise ValueError("an SM2 private key is 64 hex digits")
        d = int(private_key_hex, 16)
        if not 1 <= d <= N - 2:
            raise ValueError("an SM2 private key is in [1, n-2]")
        point = d * G
        return (_b32(point.x) + _b32(point.y)).hex()

    def sign(self, private_key_hex: str, message: bytes) -> str:
        public = self.public_key_of(private_key_hex)
        d = int(private_key_hex, 16)
        e = digest_e(int(public[:64], 16), int(public[64:], 16), message)
        inverse = pow(1 + d, -1, N)
        while True:
            k = 1 + secrets.randbelow(N - 1)
            r = (e + (k * G).x) % N
            if r == 0 or r + k == N:
                continue
            s = inverse * (k - r * d) % N
            if s:
                return (_b32(r) + _b32(s)).hex()

    def verify(self, public_key_hex: str, message: bytes, signature_hex: str) -> bool:
        if not _hex(public_key_hex, 128) or not _hex(signature_hex, 128):
            return False
        point = _public_point(public_key_hex.lower())
        if point is None:
            return False
        r, s = int(signature_hex[:64], 16), int(signature_hex[64:], 16)
        if not (1 <= r < N and 1 <= s < N):
            return False
        t = (r + s) % N
        if t == 0:
            return False
        e = digest_e(point.x, point.y, message)
        if OPENSSL and openssl_ec.available():
            try:
                x1 = openssl_ec.combined_x(s, t, _b32(point.x) + _b32(point.y))
            except (RuntimeError, MemoryError):  # not expected for a checked point: refuse
                return False
            return x1 is not None and (e + x1) % N == r
        v = (r - e) % N
        if v == 0:  # x1 = 0 (mod n): never in practice; the plain arithmetic decides
            total = s * G + t * point
            return total != INFINITY and (e + total.x) % N == r
        t_inverse = pow(t, -1, N)
        z = s * v * t_inverse % N
        return ecdsa.verify(
            (v, v * t_inverse % N), _b32(z), point, curve=CURVE, hashfunc=sha256, prehashed=True
        )
