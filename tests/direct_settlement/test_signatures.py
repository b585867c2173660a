"""Pure rules of the signed requests: the canonical string, the timestamp window, the header
shapes, and the SM2/SM3 signer (a signature verifies only for its own bytes and key)."""

from __future__ import annotations

import pytest

from app.direct_settlement import rules
from app.integrations.signer import sandbox_keys as k
from app.integrations.signer.sm2 import Sm2Signer


@pytest.mark.parametrize(
    ("timestamp", "now", "window", "fresh"),
    [
        (1000, 1000, 300, True),
        (700, 1000, 300, True),
        (699, 1000, 300, False),
        (1300, 1000, 300, True),
        (1301, 1000, 300, False),
    ],
)
def test_the_timestamp_window(timestamp, now, window, fresh):
    assert rules.within_window(timestamp, now, window) is fresh


@pytest.mark.parametrize(
    ("timestamp", "nonce", "ok"),
    [
        ("1765000000", "a" * 16, True),
        ("1765000000", "a" * 15, False),
        ("1765000000", "a" * 65, False),
        ("1765000000", "abc def ghi jkl mno", False),
        ("-5", "a" * 32, False),
        ("12.5", "a" * 32, False),
        (None, "a" * 32, False),
        ("1765000000", None, False),
    ],
)
def test_header_shapes(timestamp, nonce, ok):
    assert (rules.header_problem(timestamp, nonce) is None) is ok


def test_the_canonical_string_covers_method_path_time_nonce_and_body():
    base = rules.canonical("post", "/p", "1", "n" * 16, b"{}")
    assert base.startswith(b"POST\n/p\n1\n" + b"n" * 16 + b"\n")
    variants = [
        rules.canonical("GET", "/p", "1", "n" * 16, b"{}"),
        rules.canonical("POST", "/q", "1", "n" * 16, b"{}"),
        rules.canonical("POST", "/p", "2", "n" * 16, b"{}"),
        rules.canonical("POST", "/p", "1", "m" * 16, b"{}"),
        rules.canonical("POST", "/p", "1", "n" * 16, b"{ }"),
    ]
    assert len({base, *variants}) == 6


def test_sm2_signatures_verify_only_for_their_bytes_and_key():
    signer = Sm2Signer()
    assert signer.public_key_of(k.SANDBOX_PRIVATE_KEY) == k.SANDBOX_PUBLIC_KEY
    message = rules.canonical("POST", "/p", "1", "n" * 16, b'{"a":1}')
    signature = signer.sign(k.SANDBOX_PRIVATE_KEY, message)
    assert signer.verify(k.SANDBOX_PUBLIC_KEY, message, signature)
    assert not signer.verify(k.SANDBOX_PUBLIC_KEY, message + b" ", signature)
    other = signer.public_key_of("1" * 64)
    assert not signer.verify(other, message, signature)
    tampered = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not signer.verify(k.SANDBOX_PUBLIC_KEY, message, tampered)
    # malformed keys and signatures are a refusal, never an exception
    assert not signer.verify("zz", message, signature)
    assert not signer.verify(k.SANDBOX_PUBLIC_KEY, message, "00")
    assert not signer.verify(k.SANDBOX_PUBLIC_KEY, message, "g" * 128)
