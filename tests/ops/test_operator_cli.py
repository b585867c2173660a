"""The operator's commands refuse a bad argument with a one-line message and a non-zero exit:
no traceback to read at night, and no negative limit that SQLite reads as "no limit" (and
PostgreSQL refuses mid-run)."""

from __future__ import annotations

import pytest

from app.integrations.signer import sandbox_keys as k

ADD = ["direct-settlement", "add-institution", "--code", "H36070200009", "--name", "医院"]


@pytest.mark.parametrize(
    "args",
    [
        ["outbox", "deliver", "--limit", "-3"],
        ["outbox", "deliver", "--limit", "0"],
        ["claims", "reconcile-payouts", "--min-age", "-5"],
        ["payments", "reconcile", "--min-age", "-1"],
    ],
)
def test_an_out_of_range_number_is_a_usage_error(app, args):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["claims", "rerun", "no-such-product"], "product_not_found"),
        (
            [*ADD, "--key-id", "k9", "--public-key", "abcd", "--payee-name", "医院"]
            + ["--bank", "中国银行", "--account", "6222000011115678"],
            "public key must be",
        ),
        (
            [*ADD, "--key-id", "k9", "--public-key", k.SANDBOX_PUBLIC_KEY, "--payee-name", "医院"]
            + ["--bank", "中国银行", "--account", "12"],
            "bank account must be",
        ),
    ],
)
def test_a_bad_argument_is_a_message_not_a_traceback(app, args, message):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # handled, not an escaped exception
    assert message in result.output
