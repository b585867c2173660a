"""The claims pipeline's fraud checks run at the counter too, at trial and again at confirm. A
flag never pays automatically (a member's flagged claim waits for a reviewer); nobody reviews at
the counter, so the counter refuses the stay (409 direct_needs_review, the flags coded in
`errors.flags`), nothing changes, and the patient claims afterwards, where the same flag puts
the claim before a reviewer."""

from __future__ import annotations

from sqlalchemy import select

from tests.claims.test_flow import one_tap
from tests.direct_settlement.conftest import copy
from tests.direct_settlement.test_refusals import _counts


def _identity_unmatched(app, name="张伟", status=None) -> None:
    """A fresh identity snapshot in which the bureau does not match the person (insurance
    status unknown). A stale snapshot is re-verified first, at the counter as for a claim."""
    with app.app_context():
        from app.database import get_session, utcnow
        from app.identity.models import Person

        s = get_session()
        person = s.scalar(select(Person).where(Person.name == name))
        person.insurance_status, person.verified_at = status, utcnow()
        s.commit()


def test_a_stale_snapshot_is_verified_again_before_the_checks(app, stay, hospital):
    """Not matched once, long ago: the counter asks the bureau again (which matches now), as
    claims' refresh_person does, and the stay is not flagged for an outdated answer."""
    with app.app_context():
        from app.database import get_session
        from app.identity.models import Person

        s = get_session()
        person = s.scalar(select(Person).where(Person.name == "张伟"))
        person.insurance_status, person.verified_at = None, None
        s.commit()
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200 and trial["payable_fen"] > 0, trial
    with app.app_context():
        person = get_session().scalar(select(Person).where(Person.name == "张伟"))
        assert person.insurance_status == "active" and person.verified_at is not None


def _flag_codes(body: dict) -> list[str]:
    return [f["code"] for f in body["errors"]["flags"]]


def test_a_settlement_in_another_name_is_flagged_at_trial(app, stay, hospital):
    """冒名就医: the hospital's settlement names someone else than the insured."""
    before = _counts(app)
    bad = copy(stay)
    bad["setlinfo"]["psn_name"] = "王五"
    status, body = hospital.trial(bad["setlinfo"], bad["feedetail"])
    assert (status, body["code"]) == (409, "direct_needs_review"), body
    assert _flag_codes(body) == ["name_mismatch"]
    assert "姓名" in body["detail"]
    assert _counts(app) == before  # no trial row, nothing else


def test_an_identity_the_bureau_no_longer_matches_is_flagged_at_trial(
    app, client, insured_family, stay, hospital
):
    _identity_unmatched(app)
    before = _counts(app)
    status, body = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert (status, body["code"]) == (409, "direct_needs_review"), body
    assert _flag_codes(body) == ["identity_not_matched"]
    assert _counts(app) == before

    # the patient claims afterwards: the same check holds the claim for a reviewer
    resp = one_tap(client, insured_family, "张伟", stay["setlinfo"]["setl_id"])
    assert resp.status_code == 201, resp.get_json()
    claim = resp.get_json()
    assert claim["status"] == "pending_review" and claim["paid_fen"] == 0


def test_a_flag_raised_between_trial_and_confirm_refuses_the_confirmation(app, stay, hospital):
    status, trial = hospital.trial(stay["setlinfo"], stay["feedetail"])
    assert status == 200 and trial["payable_fen"] > 0, trial
    _identity_unmatched(app)
    before = _counts(app)
    status, body = hospital.confirm(trial["trial_no"], "SN0001")
    assert (status, body["code"]) == (409, "direct_needs_review"), body
    assert _flag_codes(body) == ["identity_not_matched"]
    assert _counts(app) == before  # no claim, accumulators, notification or money owed

    # once the bureau matches the person again, the same trial confirms
    _identity_unmatched(app, status="active")
    status, done = hospital.confirm(trial["trial_no"], "SN0001")
    assert status == 200 and done["amount_fen"] == trial["payable_fen"], done
