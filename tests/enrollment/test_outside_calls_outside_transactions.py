"""WeChat Pay is never called inside a database transaction of ours (payments' rule): a keyed
payment's claim (idempotency FIRST_COMMIT) is committed before the call, also on the paths that
call WeChat Pay before writing anything (asking again for a pending WeChat payment, closing one
when the member switches to the personal account)."""

from __future__ import annotations

from app.database import get_session
from app.integrations import registry
from tests.enrollment.conftest import pay, place_order


def _watch(app, monkeypatch) -> list[tuple[str, bool]]:
    calls: list[tuple[str, bool]] = []
    with app.app_context():
        wechat = registry.wechat_pay()
    for name in ("create_jsapi_order", "close_order"):
        real = getattr(wechat, name)

        def watched(*args, _name=name, _real=real, **kwargs):
            calls.append((_name, get_session().in_transaction()))
            return _real(*args, **kwargs)

        monkeypatch.setattr(wechat, name, watched)
    return calls


def test_wechat_is_called_with_no_transaction_open(app, client, family, monkeypatch):
    calls = _watch(app, monkeypatch)
    order = place_order(client, family, [], method="wechat")
    first = pay(client, family, order["id"], "wechat")  # creates the pending payment
    assert first.status_code == 200, first.get_json()
    again = pay(client, family, order["id"], "wechat")  # asks again for the pending one
    assert again.status_code == 200, again.get_json()
    switched = pay(client, family, order["id"], "personal_account")  # closes the WeChat one
    assert switched.status_code in (200, 201, 202), switched.get_json()
    assert [name for name, _ in calls] == [
        "create_jsapi_order",
        "create_jsapi_order",
        "close_order",
    ]
    assert [open_ for _, open_ in calls] == [False, False, False]
