"""The compiled SM2 signer (app/integrations/signer/sm2.py, fastecdsa's curve arithmetic) against
`gmssl`, the pure-Python reference: on 240 random key pairs and messages, every signature one of
them makes, untouched or tampered (r, s, message, key), gets the same answer from both; values
outside the scheme's ranges (r or s zero or >= n, r + s = n, a key off the curve or >= p) are
refused without an exception. Seeded, so a failure replays. Every test runs with sG + tP done by
the system's OpenSSL (openssl_ec.py) and by fastecdsa."""

from __future__ import annotations

import random

import pytest
from gmssl import sm2 as gm
from gmssl import sm3 as gm_sm3

from app.direct_settlement import rules
from app.integrations.signer import openssl_ec, sm2
from app.integrations.signer.sm2 import GX, GY, N, P, Sm2Signer, sm3

OURS = Sm2Signer()


@pytest.fixture(autouse=True, params=["openssl", "fastecdsa"])
def backend(request, monkeypatch):
    if request.param == "openssl" and not openssl_ec.available():
        pytest.skip("the system's libcrypto has no SM2 curve")
    monkeypatch.setattr(sm2, "OPENSSL", request.param == "openssl")
    return request.param


CASES = 240
MUTATIONS = ("none", "r", "s", "message", "key", "swap")


def _gm_public(private_hex: str) -> str:
    return gm.CryptSM2(private_key="", public_key="")._kg(
        int(private_hex, 16), gm.default_ecc_table["g"]
    )


def _gm_sign(private_hex: str, public_hex: str, message: bytes) -> str:
    return gm.CryptSM2(private_key=private_hex, public_key=public_hex).sign_with_sm3(message)


def _gm_verify(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """gmssl's answer; an exception counts as a refusal (on one tampered s below, case 98,
    gmssl's point doubling meets the point at infinity and raises TypeError: the signer it
    replaced let that through as a 500)."""
    crypt = gm.CryptSM2(private_key="", public_key=public_hex)
    try:
        return bool(crypt.verify_with_sm3(signature_hex, message))
    except (TypeError, ValueError, ZeroDivisionError):
        return False


def _flip(hex_text: str, rng: random.Random) -> str:
    """One hex digit changed (a different value at a random position)."""
    i = rng.randrange(len(hex_text))
    digit = rng.choice([c for c in "0123456789abcdef" if c != hex_text[i].lower()])
    return hex_text[:i] + digit + hex_text[i + 1 :]


def _case(n: int):
    rng = random.Random(20261206 + n)
    private = f"{rng.randrange(1, N - 1):064x}"
    message = rng.randbytes(rng.randrange(0, 300))
    public = OURS.public_key_of(private)
    # Half the signatures are made by gmssl, half by ours: each signer's output is checked by
    # both verifiers.
    if n % 2:
        signature = _gm_sign(private, public, message)
    else:
        signature = OURS.sign(private, message)
    mutation = MUTATIONS[n % len(MUTATIONS)]
    if mutation == "r":
        signature = _flip(signature[:64], rng) + signature[64:]
    elif mutation == "s":
        signature = signature[:64] + _flip(signature[64:], rng)
    elif mutation == "message":
        message = message + b"x" if not message or rng.random() < 0.5 else message[:-1]
    elif mutation == "key":
        public = OURS.public_key_of(f"{rng.randrange(1, N - 1):064x}")
    elif mutation == "swap":
        signature = signature[64:] + signature[:64]
    return private, public, message, signature, mutation


def test_public_keys_and_sm3_agree_with_gmssl():
    rng = random.Random(7)
    for _ in range(20):
        private = f"{rng.randrange(1, N - 1):064x}"
        assert OURS.public_key_of(private) == _gm_public(private)
    for size in (0, 1, 55, 56, 64, 65, 1000, 5000):
        data = rng.randbytes(size)
        assert sm3(data).hex() == gm_sm3.sm3_hash(list(data))
        assert rules.body_digest(data) == gm_sm3.sm3_hash(list(data))


def test_both_verifiers_agree_on_random_and_tampered_signatures():
    outcomes = {m: [0, 0] for m in MUTATIONS}  # mutation -> [accepted, refused]
    for n in range(CASES):
        _, public, message, signature, mutation = _case(n)
        ours = OURS.verify(public, message, signature)
        assert ours == _gm_verify(public, message, signature), (n, mutation)
        outcomes[mutation][0 if ours else 1] += 1
    # The untouched ones verify and every tampered one is refused (so the agreement above is
    # not two verifiers both saying False).
    assert outcomes.pop("none") == [CASES // len(MUTATIONS), 0]
    assert all(accepted == 0 for accepted, _ in outcomes.values())


def _sig(r: int, s: int) -> str:
    return f"{r:064x}{s:064x}"


@pytest.fixture(scope="module")
def signed():
    private = f"{random.Random(11).randrange(1, N - 1):064x}"
    message = b"POST\n/direct-settlement/trial\n1765000000\nnonce"
    signature = OURS.sign(private, message)
    return OURS.public_key_of(private), message, int(signature[:64], 16), int(signature[64:], 16)


def test_out_of_range_values_are_refused(signed):
    public, message, r, s = signed
    assert OURS.verify(public, message, _sig(r, s))
    for bad in (
        _sig(0, s),
        _sig(r, 0),
        _sig(0, 0),
        _sig(r + N, s) if r + N < 2**256 else _sig(N, s),
        _sig(r, s + N) if s + N < 2**256 else _sig(r, N),
        _sig(N, s),
        _sig(r, N),
        _sig(r, N - r),  # t = r + s = 0 mod n
        "f" * 128,
    ):
        assert OURS.verify(public, message, bad) is False, bad


def test_bad_public_keys_are_refused_without_an_exception(signed):
    public, message, r, s = signed
    signature = _sig(r, s)
    x, y = int(public[:64], 16), int(public[64:], 16)
    for bad in (
        "0" * 128,  # (0, 0): not on the curve
        f"{x:064x}{(y + 1) % P:064x}",  # off the curve
        f"{x:064x}{P - y:064x}",  # -P: on the curve, the wrong key
        f"{x + P:064x}{y:064x}" if x + P < 2**256 else "f" * 128,  # a coordinate >= p
        "f" * 128,
        f"{GX:064x}{GY:064x}",  # G itself: on the curve, not this key
        public[:-2],
        "zz" * 64,
    ):
        assert OURS.verify(bad, message, signature) is False, bad


def _textbook(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """GB/T 32918.2's verification written out with two multiplications and an addition (what
    the signer did before it used fastecdsa's combined u1 G + u2 Q)."""
    from app.integrations.signer.sm2 import INFINITY, G, _public_point, digest_e

    point = _public_point(public_hex)
    r, s = int(signature_hex[:64], 16), int(signature_hex[64:], 16)
    t = (r + s) % N
    if point is None or not (1 <= r < N and 1 <= s < N) or t == 0:
        return False
    total = s * G + t * point
    return total != INFINITY and (digest_e(point.x, point.y, message) + total.x) % N == r


def test_the_combined_multiplication_answers_as_the_textbook_formula():
    rng = random.Random(2026)
    for n in range(CASES // 2):
        _, public, message, signature, _ = _case(n)
        assert OURS.verify(public, message, signature) == _textbook(public, message, signature)
        # a random (r, s) on the same key and message: almost always refused, by both
        other = _sig(rng.randrange(1, N), rng.randrange(1, N))
        assert OURS.verify(public, message, other) == _textbook(public, message, other) is False


def test_r_equal_to_e_takes_the_plain_arithmetic_and_is_refused(signed):
    """v = (r - e) mod n = 0 cannot go through the ECDSA check (r' = 0): the plain arithmetic
    answers, without an exception."""
    from app.integrations.signer.sm2 import _public_point, digest_e

    public, message, _, s = signed
    point = _public_point(public)
    e = digest_e(point.x, point.y, message) % N
    assert e != 0
    forged = _sig(e, s)
    assert OURS.verify(public, message, forged) is False
    assert _textbook(public, message, forged) is False


def test_openssl_combined_x_is_fastecdsas_and_knows_the_point_at_infinity():
    if not openssl_ec.available():
        pytest.skip("the system's libcrypto has no SM2 curve")
    from app.integrations.signer.sm2 import G

    rng = random.Random(32918)
    for _ in range(50):
        k = rng.randrange(1, N)
        point = k * G
        public = point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
        s, t = rng.randrange(1, N), rng.randrange(1, N)
        assert openssl_ec.combined_x(s, t, public) == (s * G + t * point).x
        # s = -t k (mod n): sG + tP = (s + t k) G is the point at infinity
        assert openssl_ec.combined_x((-t * k) % N, t, public) is None
    with pytest.raises(RuntimeError):
        openssl_ec.combined_x(1, 1, b"\0" * 64)  # (0, 0) is not a point of the curve


def test_a_key_or_signature_with_a_final_newline_is_refused_without_an_exception(signed):
    """ "^...$" let "...\n" through as hex ($ matches before a final newline); int() ignored the
    newline, and the OpenSSL path raised on the raw text (a 500 instead of a 401)."""
    public, message, r, s = signed
    shortened = public[:127] + "\n"
    assert OURS.verify(shortened, message, _sig(r, s)) is False
    assert OURS.verify(public, message, _sig(r, s)[:127] + "\n") is False
    assert not OURS.is_public_key(shortened)
    assert OURS.is_public_key(public) and OURS.is_public_key(public.upper())
    assert not OURS.is_public_key("0" * 128)  # (0, 0) is not on the curve
