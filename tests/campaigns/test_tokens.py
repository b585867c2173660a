"""Campaign-link tokens: round trip, and every alteration refused."""

from __future__ import annotations

import pytest

from app.campaigns import tokens
from app.policies import certificate

SECRET = b"a-campaign-secret-of-enough-length"
CODE = "Abc_def-0123456789"


def test_round_trip_and_shape():
    token = tokens.sign(SECRET, CODE)
    payload, mac = token.split(".")
    assert len(mac) == 22 and len(token) <= tokens.TOKEN_MAX_LEN
    assert tokens.verify(SECRET, token) == CODE
    assert tokens.sign(SECRET, CODE) == token  # deterministic


def test_new_public_codes_are_random_and_signable():
    codes = {tokens.new_public_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert tokens.verify(SECRET, tokens.sign(SECRET, code)) == code


def _flip(text: str, i: int) -> str:
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


@pytest.mark.parametrize(
    "mangle, reason",
    [
        (lambda t: _flip(t, 0), "bad mac"),  # payload changed
        (lambda t: _flip(t, len(t) - 1), "bad mac"),  # MAC changed
        (lambda t: t.split(".")[0], "malformed"),  # MAC cut off
        (lambda t: t + "A", "malformed"),  # MAC too long
        (lambda t: t.replace(".", ":"), "malformed"),
        (lambda t: "", "malformed"),
        (lambda t: t + "é", "too long or not ascii"),
        (lambda t: "A" * 200, "too long or not ascii"),
        (lambda t: tokens.sign(b"another-secret-of-enough-length", CODE), "bad mac"),
        # a genuine policy-certificate token, even under the same secret: other domain, refused
        (lambda t: certificate.sign_token(SECRET, "HMB20260000000001"), "bad mac"),
    ],
)
def test_altered_tokens_are_refused(mangle, reason):
    with pytest.raises(tokens.CampaignTokenInvalid) as caught:
        tokens.verify(SECRET, mangle(tokens.sign(SECRET, CODE)))
    assert caught.value.reason == reason


def test_not_a_string():
    with pytest.raises(tokens.CampaignTokenInvalid):
        tokens.verify(SECRET, 12345)


@pytest.mark.parametrize(
    "code", ["short", "x" * 33, "has space in it!!", "中文中文中文中文中文中文中文中文"]
)
def test_only_well_formed_codes_are_signed(code):
    with pytest.raises(ValueError):
        tokens.sign(SECRET, code)


def test_a_weak_secret_is_refused():
    with pytest.raises(ValueError):
        tokens.sign(b"short", CODE)
