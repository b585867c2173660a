"""The end of retention: `flask members purge-retained` (app/members/retention.py) erases what a
closed account past its retain_until still holds, keeps the figures, and is safe to rerun.

The account: 张伟 insured himself and his wife 李娜 for 2026 (paid), filed a photographed claim
for 李娜 (three documents, a payee, an invoice) that was rejected, and closed the account in
January 2027: retain_until 2031-12-31. The purge runs on 2032-01-02."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from app.claims.models import Claim, ClaimDocument, ClaimInvoice, ClaimTransition
from app.database import Base, get_session
from app.enrollment.models import Order, OrderItem, Payment
from app.identity.models import InsuranceAnswer, Person
from app.identity.services import person_index
from app.integrations import registry
from app.members.models import Member
from app.members.retention_holds import ERASED_NAME, PERSON_REFERENCES
from app.policies.models import Policy
from tests import factories
from tests.conftest import bearer
from tests.members.test_privacy_http import AFTER_COVER, _events, insured  # noqa: F401

PURGE_DAY = "2032-01-02T02:00:00+00:00"  # retain_until 2031-12-31 has passed
LAST_DAY = "2031-12-31T02:00:00+00:00"  # still kept


@pytest.fixture
def closed(client, insured, seeded):
    factories.assign_claim(seeded, "demo-reviewer", insured["claim_id"])
    factories.reject_claim(seeded, "demo-reviewer", insured["claim_id"])
    with time_machine.travel(AFTER_COVER, tick=True):
        token = factories.login(seeded, "privacy-insured")["access_token"]
        resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert resp.status_code == 200 and resp.get_json()["retain_until"] == "2031-12-31"
    return insured


def purge(app, *args: str, when: str = PURGE_DAY):
    with time_machine.travel(when, tick=True):
        result = app.test_cli_runner().invoke(args=["members", "purge-retained", *args])
    return result


def person_of(app, resident) -> Person | None:
    with app.app_context():
        found = get_session().scalar(
            select(Person).where(Person.id_number_index == person_index(resident.certno))
        )
        get_session().expunge_all()
        return found


def snapshot(app) -> dict:
    """Every row of every table but the audit trail, as plain tuples."""
    out = {}
    with app.app_context():
        s = get_session()
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_events":
                continue
            out[table.name] = sorted(map(tuple, s.execute(select(table)).all()), key=repr)
        s.rollback()
    return out


def document_keys(app, claim_id: int) -> list[str]:
    with app.app_context():
        keys = list(
            get_session().scalars(
                select(ClaimDocument.storage_key).where(ClaimDocument.claim_id == claim_id)
            )
        )
        get_session().rollback()
    return keys


def test_every_column_pointing_at_a_person_is_decided():
    """A new table naming a person must say whether it keeps the person (PERSON_REFERENCES)."""
    found = {
        (table.name, fk.parent.name)
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "persons"
    }
    assert found == set(PERSON_REFERENCES)


# Each row: (what, how to read it after the purge, the rule). "same" compares with before.
ERASED = "erased"
KEPT = "same"
RULES = [
    ("persons.name", lambda s, c: s.get(Person, c["zhang"]).name, ERASED_NAME),
    ("persons.id_number_enc", lambda s, c: s.get(Person, c["zhang"]).id_number_enc, ""),
    (
        "persons.id_number_index",  # unique, and no digest any more
        lambda s, c: s.get(Person, c["li"]).id_number_index,
        "erased:{li}",
    ),
    ("persons.psn_no", lambda s, c: s.get(Person, c["li"]).psn_no, None),
    ("persons.identity_flags", lambda s, c: s.get(Person, c["li"]).identity_flags, []),
    (  # birth year kept, day dropped: e.g. 1990-05-17 -> 1990-01-01
        "persons.birth_date (year only)",
        lambda s, c: s.get(Person, c["li"]).birth_date.strftime("%m-%d"),
        "01-01",
    ),
    ("persons.gender", lambda s, c: s.get(Person, c["li"]).gender, KEPT),
    ("persons.insurance_type", lambda s, c: s.get(Person, c["li"]).insurance_type, KEPT),
    (
        "insurance_answers (deleted)",
        lambda s, c: s.scalars(
            select(InsuranceAnswer.id).where(InsuranceAnswer.person_id.in_(c["people"]))
        ).all(),
        [],
    ),
    ("claims.patient_name", lambda s, c: s.get(Claim, c["claim"]).patient_name, None),
    ("claims.diagnosis", lambda s, c: s.get(Claim, c["claim"]).diagnosis, None),
    ("claims.payee_name", lambda s, c: s.get(Claim, c["claim"]).payee_name, None),
    ("claims.payee_account_enc", lambda s, c: s.get(Claim, c["claim"]).payee_account_enc, None),
    ("claims.payee_account_last4", lambda s, c: s.get(Claim, c["claim"]).payee_account_last4, None),
    ("claims.medfee_sumamt_fen", lambda s, c: s.get(Claim, c["claim"]).medfee_sumamt_fen, KEPT),
    ("claims.status", lambda s, c: s.get(Claim, c["claim"]).status, KEPT),
    ("claims.hospital_name", lambda s, c: s.get(Claim, c["claim"]).hospital_name, KEPT),
    ("claims.admitted_on", lambda s, c: s.get(Claim, c["claim"]).admitted_on, KEPT),
    (
        "claim_invoices.number",
        lambda s, c: s.scalars(
            select(ClaimInvoice.number).where(ClaimInvoice.claim_id == c["claim"])
        ).all(),
        [""],
    ),
    (
        "claim_invoices.amount_fen",
        lambda s, c: s.scalars(
            select(ClaimInvoice.amount_fen).where(ClaimInvoice.claim_id == c["claim"])
        ).all(),
        KEPT,
    ),
    (
        "claim_transitions.reason",
        lambda s, c: {
            r
            for r in s.scalars(
                select(ClaimTransition.reason).where(ClaimTransition.claim_id == c["claim"])
            )
        },
        {None},
    ),
    (
        "claim_documents.deleted_at (all set)",
        lambda s, c: all(
            d.deleted_at is not None
            for d in s.scalars(select(ClaimDocument).where(ClaimDocument.claim_id == c["claim"]))
        ),
        True,
    ),
    (
        "payments.payer_psn_no",
        lambda s, c: {
            p.payer_psn_no
            for p in s.scalars(select(Payment).join(Order).where(Order.member_id == c["member"]))
        },
        {None},
    ),
    (
        "payments.amount_fen",
        lambda s, c: s.scalars(
            select(Payment.amount_fen).join(Order).where(Order.member_id == c["member"])
        ).all(),
        KEPT,
    ),
    (
        "orders (amounts, terms, status)",
        lambda s, c: s.execute(
            select(Order.total_pay_fen, Order.terms_sha256, Order.status, Order.paid_at).where(
                Order.member_id == c["member"]
            )
        ).all(),
        KEPT,
    ),
    (
        "order_items (people, premiums)",
        lambda s, c: s.execute(
            select(OrderItem.person_id, OrderItem.premium_fen)
            .join(Order)
            .where(Order.member_id == c["member"])
            .order_by(OrderItem.id)
        ).all(),
        KEPT,
    ),
    (
        "policies (cover, premium)",
        lambda s, c: s.execute(
            select(Policy.person_id, Policy.coverage_end, Policy.premium_fen, Policy.status)
            .where(Policy.person_id.in_(c["people"]))
            .order_by(Policy.id)
        ).all(),
        KEPT,
    ),
    ("members.retain_until", lambda s, c: s.get(Member, c["member"]).retain_until, None),
    ("members.closed_at", lambda s, c: s.get(Member, c["member"]).closed_at, KEPT),
]


def test_the_purge_erases_and_keeps_per_table(client, closed, residents):
    app = client.application
    zhang, li = person_of(app, residents["张伟"]), person_of(app, residents["李娜"])
    assert zhang is not None and li is not None
    ctx = {
        "member": closed["member_id"],
        "claim": closed["claim_id"],
        "zhang": zhang.id,
        "li": li.id,
        "people": [zhang.id, li.id],
    }
    keys = document_keys(app, closed["claim_id"])
    with app.app_context():
        assert keys and all(registry.storage().exists(k) for k in keys)
        before = {name: read(get_session(), ctx) for name, read, _ in RULES}
        get_session().rollback()

    result = purge(app)
    assert result.exit_code == 0, result.output
    assert "accounts: 1" in result.output and "people_anonymised: 2" in result.output

    wrong = []
    with app.app_context():
        s = get_session()
        for name, read, rule in RULES:
            expected = before[name] if rule is KEPT else rule
            if isinstance(expected, str) and "{li}" in expected:
                expected = expected.format(li=li.id)
            got = read(s, ctx)
            if got != expected:
                wrong.append((name, got, expected))
        assert not any(registry.storage().exists(k) for k in keys)
        s.rollback()
    assert wrong == []
    [event] = _events(app, "member.retention_purged")
    assert event["files"] == len(keys) and event["people_anonymised"] == 2
    assert all(isinstance(v, int) for v in event.values())  # counts only
    assert residents["李娜"].certno not in str(snapshot(app))


def test_nothing_is_erased_before_retain_until_has_passed(client, closed):
    app = client.application
    before = snapshot(app)
    result = purge(app, when=LAST_DAY)
    assert result.exit_code == 0 and "accounts: 0" in result.output
    assert snapshot(app) == before


def test_a_dry_run_counts_and_changes_nothing(client, closed):
    app = client.application
    keys = document_keys(app, closed["claim_id"])
    before = snapshot(app)
    result = purge(app, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "accounts: 1 (dry run)" in result.output and "people_anonymised: 2" in result.output
    assert snapshot(app) == before
    with app.app_context():
        assert all(registry.storage().exists(k) for k in keys)
    assert _events(app, "member.retention_purged") == []


def test_running_twice_changes_nothing_the_second_time(client, closed):
    app = client.application
    first = purge(app)
    assert first.exit_code == 0 and "accounts: 1" in first.output
    after_first = snapshot(app)
    second = purge(app)
    assert second.exit_code == 0 and "accounts: 0" in second.output, second.output
    assert snapshot(app) == after_first
    assert len(_events(app, "member.retention_purged")) == 1


def test_a_rerun_after_a_crash_between_files_and_rows_finishes(client, closed, monkeypatch):
    """The files are deleted, then the transaction fails: the account stays due, and the next
    run (the files already gone) scrubs it."""
    import app.members.retention as retention

    app = client.application
    real = retention.purge_account

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(retention, "purge_account", crash)
    failed = purge(app)
    assert failed.exit_code == 1 and "member " in failed.output
    with app.app_context():
        assert get_session().get(Member, closed["member_id"]).retain_until is not None
        get_session().rollback()
    monkeypatch.setattr(retention, "purge_account", real)
    rerun = purge(app)
    assert rerun.exit_code == 0 and "accounts: 1" in rerun.output, rerun.output


def figures(app) -> tuple:
    """What `flask ledger check` compares: the problems of each ledger (none expected)."""
    from app.claims.services import check_claim_ledger
    from app.direct_settlement.ledger import check_hospital_ledger
    from app.payments.ledger import check_ledger
    from app.sponsors.services import check_programmes

    with app.app_context():
        return (check_ledger(), check_programmes(), check_claim_ledger(), check_hospital_ledger())


def statistics(client) -> dict:
    resp = client.get("/public/statistics")
    assert resp.status_code == 200
    return resp.get_json()


def purge_keeping_ledgers_and_statistics(client, when: str = PURGE_DAY):
    """Purge on `when`: the ledgers are consistent before and after (`flask ledger check` says
    so) and the public statistics are the same. The purge's result."""
    app = client.application
    before, stats_before = figures(app), statistics(client)
    assert before == ([], [], [], [])
    ledger = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert ledger.exit_code == 0, ledger.output
    result = purge(app, when=when)
    assert result.exit_code == 0, result.output
    assert figures(app) == before and statistics(client) == stats_before
    ledger = app.test_cli_runner().invoke(args=["ledger", "check"])
    assert ledger.exit_code == 0 and "ledger consistent" in ledger.output
    return result


def test_the_ledger_and_public_statistics_are_unchanged(client, closed, seeded):
    assert "accounts: 1" in purge_keeping_ledgers_and_statistics(client).output


def test_a_person_another_live_account_holds_is_not_erased(client, closed, residents, seeded):
    """李娜 has since verified her own account (a live binding): her person stays whole; 张伟,
    whom nothing else holds, is anonymised."""
    app = client.application
    with time_machine.travel(AFTER_COVER, tick=True):
        factories.verified_member(seeded, "retention-li", residents["李娜"])
    li_before = person_of(app, residents["李娜"])
    result = purge(app)
    assert result.exit_code == 0, result.output
    assert "people_kept: 1" in result.output and "people_anonymised: 1" in result.output
    li_after = person_of(app, residents["李娜"])
    assert li_after is not None and li_before is not None
    assert (li_after.name, li_after.id_number_enc, li_after.birth_date) == (
        li_before.name,
        li_before.id_number_enc,
        li_before.birth_date,
    )
    assert person_of(app, residents["张伟"]) is None  # anonymised: no index of his number


def test_a_kept_person_is_erased_once_the_last_live_holder_is_gone(
    client, closed, residents, seeded
):
    """王芳 (a live account) keeps 李娜 in her relatives list, so the purge keeps 李娜 whole;
    王芳 has since closed her account (nothing of hers kept). Nothing live holds 李娜 any more:
    the next purge anonymises her (nothing else ever would)."""
    app = client.application
    with time_machine.travel(AFTER_COVER, tick=True):
        wang = factories.verified_member(seeded, "retention-wang", residents["王芳"])
        factories.relative(seeded, wang["member_id"], residents["李娜"], "sibling")
    assert "people_kept: 1" in purge(app).output
    with time_machine.travel(PURGE_DAY, tick=True):
        token = factories.login(seeded, "retention-wang")["access_token"]
        resp = client.post("/me/closure", headers=bearer(token), json={"confirm": True})
    assert resp.status_code == 200, resp.get_json()
    result = purge(app, when="2032-01-03T02:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert person_of(app, residents["李娜"]) is None, result.output
    assert residents["李娜"].certno not in str(snapshot(app))
    assert len(_events(app, "person.retention_anonymised")) == 1


def test_an_invoice_number_a_flag_names_is_erased_with_the_invoice(client, closed):
    """The engine flagged the claim's invoice as used on another claim (its text names the
    invoice, app.claims.rules.fraud_flags): the purge erases the invoice number there too."""
    app = client.application
    with app.app_context():
        s = get_session()
        claim = s.get(Claim, closed["claim_id"])
        [invoice] = claim.invoices
        number = invoice.number
        # what app.claims.rules.fraud_flags writes for it
        claim.flags = [
            {
                "code": "duplicate_invoice",
                "zh": f"发票 {invoice.issuer}/{number} 已在其他理赔申请中使用",
            }
        ]
        s.commit()
    assert number and number in str(snapshot(app))
    result = purge(app)
    assert result.exit_code == 0, result.output
    assert number not in str(snapshot(app))
    with app.app_context():
        flags = get_session().get(Claim, closed["claim_id"]).flags
        get_session().rollback()
    assert [f["code"] for f in flags] == ["duplicate_invoice"]  # the code stays (statistics)


@pytest.mark.postgres
def test_two_runs_at_once_purge_an_account_once(client, closed, monkeypatch):
    """Two cron runs overlap: both find the account due. Each holds its purge until the other
    has read the account too (or 2 s passed): only one purges it and writes the audit row."""
    import threading

    import app.members.retention as retention

    app = client.application
    real, meet = retention.purge_account, threading.Barrier(2)

    def purge_account(*args, **kwargs):
        try:
            meet.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other run waits for this one's account lock: go on alone
        return real(*args, **kwargs)

    monkeypatch.setattr(retention, "purge_account", purge_account)
    outputs: list = []

    def run():
        with app.app_context():
            outputs.append(retention.purge_retained())

    with time_machine.travel(PURGE_DAY, tick=True):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(counts["accounts"] for counts, _ in outputs) == [0, 1], outputs
    assert all(failures == [] for _, failures in outputs)
    assert len(_events(app, "member.retention_purged")) == 1


@pytest.mark.postgres
def test_two_sweeps_at_once_anonymise_a_left_person_once(
    client, closed, residents, seeded, monkeypatch
):
    """The people a purge kept are swept by every run (left_people). Two runs overlap and both
    find 李娜 no longer held: each waits for the other to have checked her (or 2 s), then only
    one anonymises her and writes the audit row; the other reads her row again under its lock
    and finds her anonymised already."""
    import threading

    import app.members.retention as retention

    app = client.application
    with time_machine.travel(AFTER_COVER, tick=True):
        wang = factories.verified_member(seeded, "retention-wang", residents["王芳"])
        factories.relative(seeded, wang["member_id"], residents["李娜"], "sibling")
    assert "people_kept: 1" in purge(app).output
    with time_machine.travel(PURGE_DAY, tick=True):
        token = factories.login(seeded, "retention-wang")["access_token"]
        assert (
            client.post("/me/closure", headers=bearer(token), json={"confirm": True}).status_code
            == 200
        )
    real, meet = retention.person_held, threading.Barrier(2)

    def person_held(*args, **kwargs):
        held = real(*args, **kwargs)
        try:
            meet.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other sweep waits on this one's row lock: go on alone
        return held

    monkeypatch.setattr(retention, "person_held", person_held)
    outputs: list = []

    def sweep():
        with app.app_context():
            outputs.append(retention._anonymise_left(date(2032, 1, 3), dry_run=False))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert person_of(app, residents["李娜"]) is None
    assert sorted(c["people_anonymised"] for c in outputs) == [0, 1], outputs
    assert len(_events(app, "person.retention_anonymised")) == 1
