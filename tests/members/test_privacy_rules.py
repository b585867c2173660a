"""The pure privacy rules (app/members/privacy_rules.py), table-driven: what a withdrawal stops,
what blocks an unbind or a closure, how long records are kept (an account's, a cover's, a
sponsor programme's)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.members import privacy_rules as r

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(
    "action, allowed",
    [
        ("verify_identity", False),  # no new 1101 lookup for self or a relative
        ("quote_or_order", False),
        ("start_payment", False),  # a pending order is not paid into a new policy
        ("value_estimate", False),  # no settlement records fetched
        ("new_claim", False),
        ("renewal", False),
        ("view_records", True),
        ("policy_cover", True),  # the policy stays in force
        ("claim_in_progress", True),  # answering a reviewer, asking for 复核, being paid
        ("refund", True),  # money owed to the member
        ("withdraw_other", True),
    ],
)
def test_what_a_withdrawal_stops(action, allowed):
    assert r.allowed_after_withdrawal(action) is allowed


def test_an_unlisted_action_is_a_programming_error():
    with pytest.raises(KeyError):
        r.allowed_after_withdrawal("print_money")


def test_the_notice_lists_each_row_once_on_its_side():
    notice = r.withdrawal_notice()
    assert len(notice["stops"]) == 6 and len(notice["continues"]) == 5
    assert "已生效的保单继续有效，保障期间和保障责任不变" in notice["continues"]
    assert all(s not in notice["continues"] for s in notice["stops"])
    assert "不影响撤回前" in notice["lawful_before"]


@pytest.mark.parametrize(
    "latest, state",
    [
        (None, "not_given"),  # never verified: nothing given, nothing to withdraw
        ("identity_verification", "granted"),
        ("identity_verification_withdrawn", "withdrawn"),
    ],
)
def test_consent_state_from_the_latest_row(latest, state):
    assert r.consent_state(latest) == state


@pytest.mark.parametrize(
    "dependents, codes",
    [
        (r.BindingDependents(), []),  # nothing rests on it: may be unbound
        (r.BindingDependents(orders=1), ["has_orders"]),
        (r.BindingDependents(policies=2), ["has_policies"]),
        (r.BindingDependents(claims=1), ["has_claims"]),
        (r.BindingDependents(sponsorships=1), ["has_sponsorships"]),
        (
            r.BindingDependents(orders=1, policies=1, claims=1, sponsorships=1),
            ["has_orders", "has_policies", "has_claims", "has_sponsorships"],
        ),
    ],
)
def test_unbind_blockers(dependents, codes):
    found = r.unbind_blockers(dependents)
    assert [b.code for b in found] == codes
    assert all(b.count > 0 and "不能解除绑定" in b.message for b in found)


ACTIVE_TO_YEAR_END = ("active", date(2026, 12, 31))
ACTIVE_NEXT_YEAR = ("active", date(2027, 12, 31))  # bought for next year, not started: blocks
ACTIVE_ENDED = ("active", date(2025, 12, 31))  # last year's: over
ACTIVE_ENDS_TODAY = ("active", TODAY)  # covers today still
SURRENDERED = ("surrendered", date(2026, 12, 31))
VOID = ("void", date(2026, 12, 31))


@pytest.mark.parametrize(
    "state, expected",
    [
        (r.AccountState(), {}),  # an empty account closes
        (r.AccountState(policies=(ACTIVE_TO_YEAR_END,)), {"policy_in_force": 1}),
        (r.AccountState(policies=(ACTIVE_NEXT_YEAR, ACTIVE_ENDS_TODAY)), {"policy_in_force": 2}),
        (r.AccountState(policies=(ACTIVE_ENDED, SURRENDERED, VOID)), {}),
        # draft, submitted, pending_review, more_info_requested, approved, recheck are open: 6
        (
            r.AccountState(
                claim_statuses=(
                    "draft",
                    "submitted",
                    "pending_review",
                    "more_info_requested",
                    "approved",
                    "recheck",
                    "paid",
                    "closed",
                    "rejected",
                )
            ),
            {"claim_not_final": 6},
        ),
        (
            r.AccountState(order_statuses=("pending_payment", "paying", "paid", "closed")),
            {"order_awaiting_payment": 2},
        ),
        # a debit or WeChat payment pending (1) + a claim transfer pending (1) = 2
        (r.AccountState(pending_payments=1, pending_payouts=1), {"payment_in_progress": 2}),
        (r.AccountState(pending_refunds=1), {"refund_in_progress": 1}),
        # a special-drug application a reviewer has yet to decide (its proofs are health data)
        (r.AccountState(special_drug_reviews=1), {"special_drug_in_review": 1}),
        (
            r.AccountState(
                policies=(ACTIVE_TO_YEAR_END,),
                claim_statuses=("pending_review",),
                pending_refunds=1,
            ),
            {"policy_in_force": 1, "claim_not_final": 1, "refund_in_progress": 1},
        ),
    ],
)
def test_closure_blockers(state, expected):
    found = r.closure_blockers(state, TODAY)
    assert {b.code: b.count for b in found} == expected
    assert all(b.message for b in found)


@pytest.mark.parametrize(
    "ends, has_records, until",
    [
        ((), False, None),  # nothing kept: nothing to date
        ((), True, date(2031, 12, 6)),  # an order refunded, no cover: 5 years from closure
        ((date(2025, 12, 31),), True, date(2030, 12, 31)),  # cover ended 2025-12-31, + 5 years
        ((date(2024, 12, 31), date(2025, 12, 31)), True, date(2030, 12, 31)),  # the last end
        ((date(2024, 2, 29),), True, date(2029, 2, 28)),  # 29 Feb + 5 years: 28 Feb
    ],
)
def test_retain_until(ends, has_records, until):
    assert r.retain_until(ends, TODAY, has_records) == until


# --- consent texts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, sent, current, refused",
    [
        ("personal_information", "pi-2026-01", "pi-2026-01", False),  # the text in force
        ("personal_information", "pi-2025-01", "pi-2026-01", True),  # an older text, cached
        ("personal_information", "PI-2026-01", "pi-2026-01", True),  # not the same string
        ("personal_information", "pi-2026-01 ", "pi-2026-01", True),
        ("personal_information", "guardian-2026-01", "pi-2026-01", True),  # another text's
        ("personal_information", "None", "pi-2026-01", True),  # a null rendered as text
        ("guardian", "guardian-2026-01", "guardian-2026-01", False),
        ("guardian", "pi-2026-01", "guardian-2026-01", True),
        ("guardian", "x", "guardian-2026-01", True),
    ],
)
def test_a_consent_is_to_the_text_in_force(text, sent, current, refused):
    refusal = r.outdated_consent(text, sent, current, ("consent",))
    assert (refusal is not None) is refused
    if refusal is None:
        return
    assert refusal.errors["text"] == text
    assert refusal.errors["current_text_version"] == current
    assert refusal.errors["json"] == {"consent": {"text_version": [refusal.detail]}}
    assert current in refusal.detail and r.CONSENT_TEXT_TITLES[text] in refusal.detail
    assert "请重新阅读" in refusal.detail
    assert sent not in refusal.detail  # what was sent is not echoed (it may be anything)


@pytest.mark.parametrize(
    "location, field",
    [
        ((), {"text_version": ["?"]}),  # a body that is the consent (POST /me/consents)
        (("consent",), {"consent": {"text_version": ["?"]}}),
        (("guardian_consent",), {"guardian_consent": {"text_version": ["?"]}}),
    ],
)
def test_the_refusal_names_the_field_where_the_consent_was_sent(location, field):
    refusal = r.outdated_consent("guardian", "old", "guardian-2026-01", location)
    assert refusal is not None
    text_version = refusal.errors["json"]
    for key in location:
        text_version = text_version[key]
    text_version["text_version"] = ["?"]
    assert refusal.errors["json"] == field


# --- what closing gives up without blocking it --------------------------------------------------


def _recheck(claim_id: int, deadline: str) -> r.OpenRecheck:
    return r.OpenRecheck(claim_id, f"CL{claim_id:04d}", datetime.fromisoformat(deadline))


@pytest.mark.parametrize(
    "rechecks, count, first_deadline",
    [
        ([], 0, None),  # nothing open to 复核: no warning
        # decided 2026-12-06 10:00 Shanghai (02:00 UTC) + 30 days: 2027-01-05 10:00 Shanghai
        ([_recheck(7, "2027-01-05T02:00:00+00:00")], 1, "2027年01月05日 10:00"),
        # two: the earliest deadline is the one to say, whatever order they come in
        (
            [_recheck(9, "2027-01-20T02:00:00+00:00"), _recheck(8, "2027-01-04T17:30:00+00:00")],
            2,
            "2027年01月05日 01:30",  # 17:30 UTC is 01:30 the next day in Shanghai
        ),
        # a naive deadline (SQLite) is UTC
        ([_recheck(7, "2027-01-05T02:00:00")], 1, "2027年01月05日 10:00"),
    ],
)
def test_closure_warns_of_each_recheck_still_open(rechecks, count, first_deadline):
    warnings = r.closure_warnings(rechecks)
    if count == 0:
        assert warnings == []
        return
    [warning] = warnings
    assert warning.code == "claim_recheck_open" and warning.count == count
    assert first_deadline in warning.message
    assert "注销账号即视为放弃申请复核的权利" in warning.message
    listed = warning.as_dict()["claims"]
    assert [c["claim_no"] for c in listed] == [
        c.claim_no for c in sorted(rechecks, key=lambda c: c.deadline.replace(tzinfo=None))
    ]
    assert {c["id"] for c in listed} == {c.claim_id for c in rechecks}


@pytest.mark.parametrize(
    "today, cutoff",
    [
        (date(2032, 1, 1), date(2027, 1, 1)),  # ended 2026-12-31: kept to 2031-12-31, not today
        (date(2031, 12, 31), date(2026, 12, 31)),  # its last day
        (date(2032, 2, 29), date(2027, 3, 1)),  # 2027-02-28 + 5 = 2032-02-28, before today
        (date(2029, 2, 28), date(2024, 2, 28)),  # 2024-02-29 + 5 = 2029-02-28: still kept
        (date(2029, 3, 1), date(2024, 3, 1)),  # ... and past the next day
    ],
)
def test_retention_cutoff(today, cutoff):
    assert r.retention_cutoff(today) == cutoff
    before = cutoff - timedelta(days=1)
    assert r.plus_retention(cutoff) >= today > r.plus_retention(before)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.dates(min_value=date(1995, 1, 1), max_value=date(2100, 1, 1)),
)
def test_an_end_is_kept_exactly_from_the_cutoff_on(today, end):
    assert (end >= r.retention_cutoff(today)) == (r.plus_retention(end) >= today)


@pytest.mark.parametrize(
    "ends_on, cover_ends, until",
    [
        # a 2026 programme of the 2026 cover (2026-01-01..12-31): 5 years after the cover
        (date(2026, 3, 31), [date(2026, 12, 31)], date(2031, 12, 31)),
        # running past its cover (the enrollment of next year): from the programme's end
        (date(2027, 1, 31), [date(2026, 12, 31)], date(2032, 1, 31)),
        # no product of that year: the programme's own end
        (date(2026, 3, 31), [], date(2031, 3, 31)),
        # several products of the year (no product fixed): the last cover's end
        (date(2026, 3, 31), [date(2026, 12, 31), date(2027, 2, 28)], date(2032, 2, 28)),
    ],
)
def test_programme_retained_until(ends_on, cover_ends, until):
    assert r.programme_retained_until(ends_on, cover_ends) == until
