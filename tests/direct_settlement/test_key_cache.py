"""The institution keys kept per process (services._KEYS): a suspended institution and a key
replaced by rotation are refused on the very next request, although the cache still holds
them; the new key is accepted at once; a refused request spends no nonce."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.database import get_session


def _nonces(app) -> int:
    from app.direct_settlement.models import DirectNonce

    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(DirectNonce))


def test_a_suspended_institution_is_refused_at_once(app, stay, hospital):
    from app.direct_settlement import services
    from app.direct_settlement.models import Institution
    from app.direct_settlement.statuses import InstitutionStatus

    assert hospital.trial(stay["setlinfo"], stay["feedetail"])[0] == 200
    assert hospital.key_id in services._KEYS  # warm
    with app.app_context():
        s = get_session()
        s.execute(update(Institution).values(status=InstitutionStatus.SUSPENDED))
        s.commit()
    spent = _nonces(app)
    status, err = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert (status, err["code"]) == (401, "direct_institution_unknown")
    assert _nonces(app) == spent
    assert hospital.key_id not in services._KEYS


def test_a_rotated_key_is_refused_and_the_new_one_accepted_at_once(app, stay, hospital):
    from app.direct_settlement import services
    from app.direct_settlement.ledger import register_institution
    from app.direct_settlement.sandbox_hospital import SandboxHospital
    from app.integrations.signer.sm2 import Sm2Signer

    assert hospital.trial(stay["setlinfo"], stay["feedetail"])[0] == 200
    assert hospital.key_id in services._KEYS  # warm, with the old key
    new_private = "1" * 64
    with app.app_context():
        register_institution(
            code=stay["setlinfo"]["fixmedins_code"],
            name="沙箱医院",
            key_id=hospital.key_id,  # the same key id, another key
            public_key=Sm2Signer().public_key_of(new_private),
            payee_name="沙箱医院",
            payee_bank_name="中国银行赣州分行",
            payee_account="6222000011115678",
        )
    spent = _nonces(app)
    status, err = hospital.trial(stay["setlinfo"], stay["feedetail"])  # the old key
    assert (status, err["code"]) == (401, "direct_signature_invalid")
    assert _nonces(app) == spent
    rotated = SandboxHospital(hospital.signer, hospital.key_id, new_private, hospital.send)
    status, answer = rotated.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200, answer
    assert _nonces(app) == spent + 1
