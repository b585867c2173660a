"""The end of retention (PIPL art. 47, 保险法 art. 87): erase what a closed account still holds
once its `retain_until` has passed. Run from cron as `flask members purge-retained`.

Closure (app/members/closure.py) kept the account's insurance records and the people they name,
and set `retain_until`. Past that day this job, one account per transaction:

- deletes the account's document files in storage (claim and special-drug documents) first, then
  in one transaction scrubs the account's records column by column (`SCRUBS`), deletes the rows
  that are personal data and nothing else (`DELETES`), anonymises each person the records name
  unless someone else still holds them (`PERSON_REFERENCES`), writes one audit row with counts
  only, and clears `retain_until` (null: nothing kept), which takes the account off the list;
- keeps amounts, dates, statuses, products and counts, so the ledgers (`flask ledger check`)
  and the public statistics (`disclosure_counters`) are unchanged.

A person kept whole because something else held them then (a live account's binding or
relatives list) is looked at again on every run (`left_people`): once nothing live holds them,
they are anonymised (one `person.retention_anonymised` audit row each).

A crash between the file deletions and the commit leaves the account due: the rerun deletes the
files again (a missing file is no error) and scrubs the rows. `dry_run` runs every statement and
rolls it back, and deletes no file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.campaigns.models import CampaignRedemption
from app.claims.models import (
    Claim,
    ClaimDocument,
    ClaimFailedAccount,
    ClaimInvoice,
    ClaimTransition,
)
from app.common.clock import today_shanghai
from app.common.idempotency import IdempotencyRecord
from app.database import rowcount, transaction, utcnow
from app.enrollment.models import Order, OrderItem, Payment
from app.identity.models import InsuranceAnswer, Person
from app.members.models import Consent, Member
from app.outbox.models import OutboxEvent
from app.policies.models import Policy
from app.renewals.models import RenewalConsent, RenewalOutcome
from app.special_drugs.models import (
    SpecialDrugApplication,
    SpecialDrugDocument,
    SpecialDrugPurchase,
)

ERASED_NAME = "已删除"
NOW = object()  # a Scrub value: the time of the purge


# What an erased person keeps: the insurance type and status, the area code (county level,
# for the statistics by area), the gender and the birth *year* (1 January), and the flags of
# the cover they had; the ID number (ciphertext and index), the name, the bureau's person
# number and the special-identity flags (low income, disability...) go.
PERSON_ANONYMISED: dict[str, object] = {
    "id_number_enc": "",
    "name": ERASED_NAME,
    "psn_no": None,
    "identity_flags": [],
}


@dataclass(frozen=True)
class Scrub:
    """Columns of `model` (or the table of that name) set to values, on the rows the account
    owns (`owned(member_id)`)."""

    name: str
    model: type | str
    values: dict
    owned: Callable[[int], ColumnElement[bool]]


def _claims_of(member_id: int) -> Select:
    return select(Claim.id).where(Claim.member_id == member_id)


def _applications_of(member_id: int) -> Select:
    return select(SpecialDrugApplication.id).where(SpecialDrugApplication.member_id == member_id)


def _orders_of(member_id: int) -> Select:
    return select(Order.id).where(Order.member_id == member_id)


SCRUBS = (
    Scrub(
        "claims",
        Claim,
        {
            "patient_name": None,
            "diagnosis": None,  # free text; the coded diagnosis_code stays for statistics
            "payee_name": None,
            "payee_bank_name": None,
            "payee_account_enc": None,
            "payee_account_last4": None,
            "info_request": None,  # a reviewer's questions: free text
            # the bureau's numbers of the stay: they lead back to the person (setl_digest stays:
            # the duplicate checks still find the settlement, app/claims/digests.py)
            "setl_id": None,
            "mdtrt_id": None,
        },
        lambda m: Claim.member_id == m,
    ),
    Scrub(
        "claim_transitions",
        ClaimTransition,
        {"reason": None},
        lambda m: ClaimTransition.claim_id.in_(_claims_of(m)),
    ),
    Scrub(
        "claim_invoices",
        ClaimInvoice,
        {"number": ""},  # number_digest stays (the duplicate-invoice check)
        lambda m: ClaimInvoice.claim_id.in_(_claims_of(m)),
    ),
    Scrub(
        "claim_lines",
        "claim_lines",  # app.claims.line_models, by its table: members imports no claims module
        # the bureau's fee-detail number (it embeds or leads to the settlement's); what was
        # billed and how it was judged stays (the adjudication's figures)
        {"feedetl_sn": ""},
        lambda m: and_(
            _table("claim_lines").c.claim_id.in_(_claims_of(m)),
            _table("claim_lines").c.feedetl_sn != "",
        ),
    ),
    Scrub(
        "claim_documents",
        ClaimDocument,
        {"deleted_at": NOW},
        lambda m: and_(
            ClaimDocument.claim_id.in_(_claims_of(m)), ClaimDocument.deleted_at.is_(None)
        ),
    ),
    Scrub(
        "special_drug_applications",
        SpecialDrugApplication,
        {"indication": "", "reason": None},
        lambda m: SpecialDrugApplication.member_id == m,
    ),
    Scrub(
        "special_drug_purchases",
        SpecialDrugPurchase,
        {"invoice_no": ""},
        lambda m: SpecialDrugPurchase.application_id.in_(_applications_of(m)),
    ),
    Scrub(
        "payments",
        Payment,
        {"payer_psn_no": None},
        lambda m: and_(Payment.order_id.in_(_orders_of(m)), Payment.payer_psn_no.is_not(None)),
    ),
    Scrub(
        "renewal_outcomes",
        RenewalOutcome,
        {"message": None},
        lambda m: and_(RenewalOutcome.member_id == m, RenewalOutcome.message.is_not(None)),
    ),
)

# Rows that are personal data and carry nothing a ledger or a statistic needs.
DELETES: tuple[tuple[str, type, Callable[[int], ColumnElement[bool]]], ...] = (
    (
        "special_drug_documents",
        SpecialDrugDocument,
        lambda m: SpecialDrugDocument.application_id.in_(_applications_of(m)),
    ),
    ("outbox_events", OutboxEvent, lambda m: OutboxEvent.member_id == m),
    (  # the answers kept for retried requests: claims and orders as the member saw them
        "idempotency_records",
        IdempotencyRecord,
        lambda m: IdempotencyRecord.scope == f"member:{m}",
    ),
    (
        "claim_failed_accounts",  # a refused bank account's keyed index and last digits
        ClaimFailedAccount,
        lambda m: ClaimFailedAccount.claim_id.in_(_claims_of(m)),
    ),
)


# --- whose people ------------------------------------------------------------------------------


def _live_members(today: date) -> Select:
    """Accounts whose records are still held: open, or closed and still under retention."""
    return select(Member.id).where(or_(Member.closed_at.is_(None), Member.retain_until >= today))


Held = Callable[[int, date], ColumnElement[bool]] | None


def _by_member(member_column) -> Held:
    """A row of an account holds the person when it belongs to another account still live, or
    to no account (cover bought by a sponsor)."""

    def held(member_id: int, today: date) -> ColumnElement[bool]:
        return or_(
            member_column.is_(None),
            and_(member_column != member_id, member_column.in_(_live_members(today))),
        )

    return held


_order_member = select(Order.member_id).where(Order.id == OrderItem.order_id).scalar_subquery()
_policy_member = (
    select(Order.member_id)
    .join(OrderItem, OrderItem.order_id == Order.id)
    .where(OrderItem.id == Policy.order_item_id)
    .scalar_subquery()
)
ANY_ROW = "any row"

# Every column pointing at a person, and whether a row of it keeps the person from being
# anonymised (tests/members/test_retention.py checks this against the models, so a new column
# must be decided here):
#   a function: the row belongs to an account (_by_member);
#   ANY_ROW:    a binding, someone's relatives list, or another body's record (a sponsor's
#               roster and batch jobs, a hospital's direct settlement): it keeps the person;
#   None:       figures about the person only (benefit used), or what goes with the person.
PERSON_REFERENCES: dict[tuple[str, str], Held | str] = {
    ("members", "person_id"): ANY_ROW,  # closure cleared this account's own binding
    ("relatives", "person_id"): ANY_ROW,  # closure deleted this account's list
    ("orders", "payer_person_id"): _by_member(Order.member_id),
    ("order_items", "person_id"): _by_member(_order_member),
    ("policies", "person_id"): _by_member(_policy_member),
    ("claims", "person_id"): _by_member(Claim.member_id),
    ("special_drug_applications", "person_id"): _by_member(SpecialDrugApplication.member_id),
    ("campaign_redemptions", "person_id"): _by_member(CampaignRedemption.member_id),
    ("renewal_consents", "person_id"): _by_member(RenewalConsent.member_id),
    ("renewal_outcomes", "person_id"): _by_member(RenewalOutcome.member_id),
    ("roster_entries", "person_id"): ANY_ROW,
    ("job_rows", "person_id"): ANY_ROW,
    ("direct_trials", "person_id"): ANY_ROW,
    ("accumulator_years", "person_id"): None,
    ("special_drug_usage", "person_id"): None,
    ("insurance_answers", "person_id"): None,  # deleted with the person
    ("consents", "subject_person_id"): None,  # the link is cleared
}


def _table(name: str) -> Table:
    from app.database import Base

    return Base.metadata.tables[name]


def _reference_column(table: str, column: str):
    return _table(table).c[column]


def _named_people(owner: Callable[[Any], ColumnElement[bool]]) -> list[Select]:
    """The people named by the records of the accounts `owner(member column)` selects."""
    return [
        select(Order.payer_person_id).where(owner(Order.member_id)),
        select(OrderItem.person_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(owner(Order.member_id)),
        select(Claim.person_id).where(owner(Claim.member_id)),
        select(SpecialDrugApplication.person_id).where(owner(SpecialDrugApplication.member_id)),
        select(CampaignRedemption.person_id).where(owner(CampaignRedemption.member_id)),
        select(RenewalConsent.person_id).where(owner(RenewalConsent.member_id)),
        select(RenewalOutcome.person_id).where(owner(RenewalOutcome.member_id)),
        select(Consent.subject_person_id).where(owner(Consent.member_id)),
    ]


def account_people(session: Session, member_id: int) -> set[int]:
    """The people the account's own records name."""
    found: set[int] = set()
    for query in _named_people(lambda column: column == member_id):
        found.update(p for p in session.scalars(query) if p is not None)
    return found


def left_people(session: Session) -> list[int]:
    """People named by the records of accounts already purged (closed, `retain_until` null) and
    not anonymised yet: each was kept because something else held them then (a live account's
    binding or relatives list...); once nothing does, the purge anonymises them."""
    purged = select(Member.id).where(Member.closed_at.is_not(None), Member.retain_until.is_(None))
    whole = select(Person.id).where(Person.id_number_index.not_like("erased:%"))
    found: set[int] = set()
    for query in _named_people(lambda column: column.in_(purged)):
        column = query.selected_columns[0]
        found.update(p for p in session.scalars(query.where(column.in_(whole))) if p is not None)
    return sorted(found)


def person_held(session: Session, person_id: int, member_id: int, today: date) -> bool:
    """Whether anything but the account `member_id` (or accounts past their own retention)
    still holds the person."""
    for (table, column), rule in PERSON_REFERENCES.items():
        if rule is None:
            continue
        col = _reference_column(table, column)
        query = select(col).where(col == person_id)
        if callable(rule):
            query = query.where(rule(member_id, today))
        if session.scalar(query.limit(1)) is not None:
            return True
    return False


def _anonymise(session: Session, person_id: int) -> bool:
    """Anonymise the person; False when another run did it first (the row is locked and read
    again, so two runs at once anonymise and audit a person once)."""
    index = session.scalar(
        select(Person.id_number_index).where(Person.id == person_id).with_for_update()
    )
    if index is None or index.startswith("erased:"):
        return False
    session.execute(delete(InsuranceAnswer).where(InsuranceAnswer.person_id == person_id))
    session.execute(
        update(Consent).where(Consent.subject_person_id == person_id).values(subject_person_id=None)
    )
    birth = session.scalar(select(Person.birth_date).where(Person.id == person_id))
    assert birth is not None
    session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(
            **PERSON_ANONYMISED,
            id_number_index=f"erased:{person_id}",  # unique, and no digest of anything
            birth_date=date(birth.year, 1, 1),
        )
    )
    return True


# --- the job -----------------------------------------------------------------------------------


def due_accounts(session: Session, today: date, after_id: int, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(Member.id)
            .where(
                Member.id > after_id,
                Member.closed_at.is_not(None),
                Member.retain_until.is_not(None),
                Member.retain_until < today,
            )
            .order_by(Member.id)
            .limit(limit)
        )
    )


def _document_keys(session: Session, member_id: int) -> list[str]:
    claim_docs = select(ClaimDocument.storage_key).where(
        ClaimDocument.claim_id.in_(_claims_of(member_id))
    )
    drug_docs = select(SpecialDrugDocument.storage_key).where(
        SpecialDrugDocument.application_id.in_(_applications_of(member_id))
    )
    return list(session.scalars(claim_docs)) + list(session.scalars(drug_docs))


def purge_account(session: Session, member_id: int, today: date) -> Counter[str]:
    """Scrub one account's retained records (the files are deleted by the caller); counts."""
    counts: Counter[str] = Counter()
    now = utcnow()
    counts["claim_texts"] += _scrub_claim_texts(session, member_id)  # before the lines' numbers
    for scrub in SCRUBS:
        values = {k: (now if v is NOW else v) for k, v in scrub.values.items()}
        target = _table(scrub.model) if isinstance(scrub.model, str) else scrub.model
        counts[scrub.name] += rowcount(
            session.execute(update(target).where(scrub.owned(member_id)).values(**values))
        )
    for name, model, owned in DELETES:
        counts[name] += rowcount(session.execute(delete(model).where(owned(member_id))))
    people = account_people(session, member_id)
    for person_id in sorted(people):
        if person_held(session, person_id, member_id, today):
            counts["people_kept"] += 1
        elif _anonymise(session, person_id):
            counts["people_anonymised"] += 1
    session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(retain_until=None, last_login_at=None, unionid=None)
    )
    counts["accounts"] += 1
    return counts


# Flags whose text names something erased (app.claims.rules.fraud_flags: "发票 <issuer>/<number>
# 已在其他理赔申请中使用"), and the text they keep: the code stays (statistics by flag).
FLAG_TEXTS = {"duplicate_invoice": "发票已在其他理赔申请中使用"}


def _without_numbers(value: Any, labels: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in labels:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_without_numbers(v, labels) for v in value]
    if isinstance(value, dict):
        return {k: _without_numbers(v, labels) for k, v in value.items()}
    return value


def _scrub_claim_texts(session: Session, member_id: int) -> int:
    """Rewrite the texts of the account's claims that name an erased number: a flag naming an
    invoice (FLAG_TEXTS), and the explanation's and flags' per-line labels, which name the
    line's bureau fee-detail number ("明细 <feedetl_sn> <item>", app.claims.lines); how many
    claims changed. Run before the lines' numbers are erased (it reads them)."""
    lines = _table("claim_lines")
    changed = 0
    for claim in session.scalars(select(Claim).where(Claim.member_id == member_id)):
        numbers = session.scalars(select(lines.c.feedetl_sn).where(lines.c.claim_id == claim.id))
        labels = [(f"{p} {n} ", f"{p} ") for n in set(numbers) if n for p in ("明细", "line")]
        flags = [
            f | {"zh": FLAG_TEXTS[f.get("code")]} if f.get("code") in FLAG_TEXTS else f
            for f in claim.flags or []
        ]
        flags = _without_numbers(flags, labels)
        adjudication = _without_numbers(claim.adjudication, labels)
        if (flags, adjudication) != (claim.flags or [], claim.adjudication):
            claim.flags, claim.adjudication = flags, adjudication
            changed += 1
    session.flush()
    return changed


class _Discard(Exception):
    def __init__(self, counts: Counter[str]) -> None:
        super().__init__("dry run")
        self.counts = counts


def purge_retained(
    *, dry_run: bool = False, batch_size: int = 50
) -> tuple[Counter[str], list[str]]:
    """Every closed account past its retain_until, one transaction each; (counts, failures)."""
    from app.integrations import registry

    today = today_shanghai()
    totals: Counter[str] = Counter()
    failures: list[str] = []
    after = 0
    while True:
        with transaction() as s:
            batch = due_accounts(s, today, after, batch_size)
        if not batch:
            break
        for member_id in batch:
            after = member_id
            try:
                totals.update(_purge_one(member_id, today, dry_run, registry.storage()))
            except Exception as exc:
                failures.append(f"member {member_id}: {type(exc).__name__}")
    try:
        totals.update(_anonymise_left(today, dry_run))
    except Exception as exc:
        failures.append(f"people left: {type(exc).__name__}")
    return totals, failures


def _anonymise_left(today: date, dry_run: bool) -> Counter[str]:
    """Anonymise the people of purged accounts whom nothing holds any more (left_people), in
    one transaction; `people_anonymised` counts them."""
    counts: Counter[str] = Counter()
    try:
        with transaction() as s:
            for person_id in left_people(s):
                # member id 0 is no account's: every live account's row holds the person
                if not person_held(s, person_id, 0, today) and _anonymise(s, person_id):
                    counts["people_anonymised"] += 1
                    audit(
                        s,
                        actor_type="system",
                        actor_id=None,
                        action="person.retention_anonymised",
                        object_type="person",
                        object_id=person_id,
                    )
            if dry_run:
                raise _Discard(counts)
    except _Discard as discarded:
        return discarded.counts
    return counts


def _purge_one(member_id: int, today: date, dry_run: bool, storage) -> Counter[str]:
    with transaction() as s:
        keys = _document_keys(s, member_id)
    if not dry_run:
        for key in keys:  # before the rows: a crash leaves the account due, the rerun goes on
            storage.delete(key)
    try:
        with transaction() as s:
            # locked: of two runs at once, the second waits here and finds it purged
            until = s.scalar(
                select(Member.retain_until).where(Member.id == member_id).with_for_update()
            )
            if until is None or until >= today:
                return Counter()  # purged meanwhile by another run
            counts = purge_account(s, member_id, today)
            counts["files"] += len(keys)
            audit(
                s,
                actor_type="system",
                actor_id=None,
                action="member.retention_purged",
                object_type="member",
                object_id=member_id,
                detail=dict(sorted(counts.items())),
            )
            if dry_run:
                raise _Discard(counts)
    except _Discard as discarded:
        return discarded.counts
    return counts
