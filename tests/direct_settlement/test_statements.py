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
