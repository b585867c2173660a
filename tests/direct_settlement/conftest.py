"""Fixtures for direct settlement: the 张 family insured (tests/claims/conftest.py), the
hospital of 张伟's largest 2026 stay registered with the sandbox key, and a sandbox hospital
whose transport is the test client."""

from __future__ import annotations

import json

import pytest

from tests.claims.conftest import insured_family, reviewer  # noqa: F401
from tests.claims.test_flow import records


def _send(client):
    def send(method, path, headers, body):
        resp = client.open(path, method=method, headers=headers, data=body)
        return resp.status_code, resp.get_json()

    return send


def stay_of(app, client, family, name="张伟") -> dict:
    """The person's largest claimable stay as the hospital holds it: setlinfo and feedetail."""
    from app.direct_settlement.sandbox_hospital import plain

    rows = [r for r in records(client, family, name) if r["claimable"]]
    chosen = max(rows, key=lambda r: r["medfee_sumamt_fen"])
    with app.app_context():
        from app.database import get_session
        from app.identity.models import Person
        from app.integrations.registry import bureau

        psn_no = get_session().query(Person.psn_no).filter(Person.name == name).scalar()
        record = bureau().settlement_record(psn_no, chosen["setl_id"])
        lines = bureau().fee_details(psn_no, chosen["setl_id"], settlement=record) or []
        return {"setlinfo": plain(record), "feedetail": [plain(line) for line in lines]}


@pytest.fixture
def stay(app, client, insured_family):
    return stay_of(app, client, insured_family)


@pytest.fixture
def hospital(app, client, stay):
    from app.direct_settlement.ledger import register_sandbox_hospital
    from app.direct_settlement.sandbox_hospital import SandboxHospital
    from app.integrations.registry import signer
    from app.integrations.signer import sandbox_keys as k

    code = stay["setlinfo"]["fixmedins_code"]
    with app.app_context():
        register_sandbox_hospital(code, "沙箱医院")
        return SandboxHospital(
            signer(), k.sandbox_key_id(code), k.SANDBOX_PRIVATE_KEY, _send(client)
        )


def copy(stay: dict) -> dict:
    return json.loads(json.dumps(stay))
