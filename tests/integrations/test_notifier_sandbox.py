"""The sandbox notifier: records every message with the outcome it answered, deterministic
refusals and faults, and the registry choosing sandbox or real by configuration."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.database import get_session, transaction
from app.integrations.notifier.port import NotifyResult
from app.integrations.notifier.sandbox import SandboxNotifier, recorded_messages
from app.integrations.notifier.wechat import WeChatSubscribeNotifier
from app.integrations.registry import notifier

DATA = {"thing1": "住院理赔 CLM2026000001", "amount2": "17500.00元", "phrase3": "已支付"}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def test_sent_and_recorded(ctx):
    sandbox = SandboxNotifier()
    result = sandbox.send("sbx_member_a", "TPL_CLAIM_PAID", DATA, "pages/claims/detail?id=7")

    assert result == NotifyResult("sent", None)
    (message,) = recorded_messages("sbx_member_a")
    assert (message.template_id, message.data, message.page) == (
        "TPL_CLAIM_PAID",
        DATA,
        "pages/claims/detail?id=7",
    )
    assert (message.status, message.code) == ("sent", None)
    assert recorded_messages("sbx_member_b") == []


def test_refused_member_fails_permanently_and_is_recorded(ctx):
    sandbox = SandboxNotifier(refused_openids={"sbx_refuser"})

    assert sandbox.send("sbx_refuser", "TPL", DATA, None) == NotifyResult("failed", "43101")
    assert sandbox.send("sbx_other", "TPL", DATA, None) == NotifyResult("sent", None)
    assert [(m.openid, m.status, m.code) for m in recorded_messages()] == [
        ("sbx_refuser", "failed", "43101"),
        ("sbx_other", "sent", None),
    ]


def test_busy_fault_asks_for_a_retry(ctx):
    sandbox = SandboxNotifier(faults={"busy"})
    assert sandbox.send("sbx_a", "TPL", DATA, None) == NotifyResult("retry", "-1")
    sandbox.faults.clear()
    assert sandbox.send("sbx_a", "TPL", DATA, None).status == "sent"
    assert [m.status for m in recorded_messages("sbx_a")] == ["retry", "sent"]


@pytest.mark.parametrize(
    ("openid", "template_id", "data", "page"),
    [
        ("", "TPL", DATA, None),
        ("sbx_a", " ", DATA, None),
        ("sbx_a", "TPL", {"amount2": 17500}, None),
        ("sbx_a", "TPL", {"": "x"}, None),
        ("sbx_a", "TPL", DATA, 42),
    ],
    ids=["no-openid", "blank-template", "non-string-value", "empty-key", "page-not-text"],
)
def test_caller_mistakes_are_value_errors_and_not_recorded(ctx, openid, template_id, data, page):
    with pytest.raises(ValueError):
        SandboxNotifier().send(openid, template_id, data, page)
    assert recorded_messages() == []


def test_outside_a_transaction_the_record_commits_on_its_own(ctx):
    SandboxNotifier().send("sbx_a", "TPL", DATA, None)
    get_session().rollback()
    assert len(recorded_messages("sbx_a")) == 1


def test_inside_a_transaction_the_record_shares_its_fate(ctx):
    """The outbox sends while holding its claim; a delivery that rolls back was never recorded
    as delivered, and the sandbox's record goes with it."""
    with transaction() as s:
        s.execute(select(1))  # the outbox has read and claimed its event by now
        SandboxNotifier().send("sbx_kept", "TPL", DATA, None)
    with pytest.raises(RuntimeError):
        with transaction() as s:
            s.execute(select(1))
            SandboxNotifier().send("sbx_lost", "TPL", DATA, None)
            raise RuntimeError("delivery bookkeeping failed")
    assert [m.openid for m in recorded_messages()] == ["sbx_kept"]


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError):
        SandboxNotifier(faults={"slow"})


def test_registry_builds_the_configured_notifier_once(app_factory):
    sandbox_app = app_factory()
    with sandbox_app.app_context():
        first = notifier()
        assert isinstance(first, SandboxNotifier) and notifier() is first

    real_app = app_factory(
        NOTIFIER_BACKEND="real",
        WECHAT_SECRET="wechat-app-secret-for-test",
        WECHAT_API_BASE="http://127.0.0.1:9",
        NOTIFIER_MINIPROGRAM_STATE="trial",
    )
    with real_app.app_context():
        real = notifier()
        assert isinstance(real, WeChatSubscribeNotifier) and notifier() is real
        assert "wechat-app-secret-for-test" not in repr(real)
        real.close()
