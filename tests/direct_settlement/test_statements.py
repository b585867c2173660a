"""Hospital statements (清算) the bank left unresolved: a statement whose reply was lost is
settled by asking the bank what became of its number, even when the hospital's account was
changed meanwhile; a refused statement is reported with its reason and a non-zero exit."""

from __future__ import annotations

from sqlalchemy import select

from tests.direct_settlement.test_money import _discharge, _today


def _statements(app):
    return app.test_cli_runner().invoke(
        args=["direct-settlement", "statements", "--through", _today(app)]
    )


def test_a_statement_whose_reply_was_lost_is_settled_after_the_account_changed(app, stay, hospital):
    done = _discharge(hospital, stay)
    with app.app_context():
        from app.integrations.registry import payout

        payout().faults.add("timeout_after_accept")  # the bank paid; its answer was lost
    result = _statements(app)
    assert result.exit_code == 0 and '"status": "pending"' in result.output, result.output
    with app.app_context():
        from app.direct_settlement.ledger import register_institution
        from app.integrations.registry import payout
        from app.integrations.signer import sandbox_keys as k

        payout().faults.clear()
        code = stay["setlinfo"]["fixmedins_code"]
        register_institution(  # the hospital's new account, registered before the next run
            code=code,
            name="沙箱医院",
            key_id=k.sandbox_key_id(code),
            public_key=k.SANDBOX_PUBLIC_KEY,
            payee_name="沙箱医院",
            payee_bank_name="中国银行赣州分行",
            payee_account="6222000011119999",
        )
    result = _statements(app)
    assert result.exit_code == 0, result.output
    assert '"status": "paid"' in result.output and str(done["amount_fen"]) in result.output
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.models import HospitalStatement
        from app.integrations.payout.sandbox_models import SandboxPayout

        s = get_session()
        assert [r.status for r in s.scalars(select(HospitalStatement))] == ["paid"]
        assert len(s.scalars(select(SandboxPayout)).all()) == 1  # one transfer, paid once
    assert _statements(app).output == ""  # nothing owed any more
    check = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert check.exit_code == 0, check.output


def _register(app, code: str, account: str) -> None:
    with app.app_context():
        from app.direct_settlement.ledger import register_institution
        from app.integrations.signer import sandbox_keys as k

        register_institution(
            code=code,
            name="沙箱医院",
            key_id=k.sandbox_key_id(code),
            public_key=k.SANDBOX_PUBLIC_KEY,
            payee_name="沙箱医院",
            payee_bank_name="中国银行赣州分行",
            payee_account=account,
        )


def test_a_refused_statement_says_why_and_exits_non_zero(app, stay, hospital):
    done = _discharge(hospital, stay)
    code = stay["setlinfo"]["fixmedins_code"]
    _register(app, code, "6222000011110000")  # ...0000: the sandbox bank refuses the account
    result = _statements(app)
    assert result.exit_code == 1, result.output
    assert '"status": "failed"' in result.output
    assert '"failure_code": "account_invalid"' in result.output and "收款账户无效" in result.output

    _register(app, code, "6222000011115678")  # the operator corrects the account
    result = _statements(app)
    assert result.exit_code == 0 and '"status": "paid"' in result.output, result.output
    assert str(done["amount_fen"]) in result.output
    check = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert check.exit_code == 0, check.output


def test_a_cut_off_after_today_is_refused(app, stay, hospital):
    _discharge(hospital, stay)
    result = app.test_cli_runner().invoke(
        args=["direct-settlement", "statements", "--through", "2099-01-01"]
    )
    assert result.exit_code == 2 and "cannot be after today" in result.output, result.output
    with app.app_context():
        from app.database import get_session
        from app.direct_settlement.models import HospitalStatement

        assert get_session().scalars(select(HospitalStatement)).all() == []
