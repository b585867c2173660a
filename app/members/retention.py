"""The end of retention (PIPL art. 47, 保险法 art. 87): erase what a closed account still holds
once its `retain_until` has passed, and what other bodies' records hold past their own
retention. Run daily from cron as `flask members purge-retained` (docs/privacy.md).

Closure (app/members/closure.py) kept the account's insurance records and the people they name,
and set `retain_until`. Past that day this job, one account per transaction:

- deletes the account's document files in storage (claim and special-drug documents) first, then
  in one transaction scrubs the account's records column by column (`SCRUBS`; a hospital trial
  confirmed into one of its claims is part of that claim's record), deletes the rows that are
  personal data and nothing else (`DELETES`), anonymises each person the records name unless
  someone else still holds them (app/members/retention_holds.py), writes one audit row with
  counts only, and clears `retain_until` (null: nothing kept), which takes the account off the
  list;
- keeps amounts, dates, statuses, products and counts, so the ledgers (`flask ledger check`)
  and the public statistics (`disclosure_counters`) are unchanged; keeps the keyed digests of
  the settlement and invoice numbers it erases, so the duplicate checks still find them
  (app/claims/digests.py).

Then the records of other bodies past their own retention (app/members/retention_records.py):
hospital trials never confirmed, sponsor programmes' rosters and batch rows.

A person kept whole because something else held them then (a live account's binding or
relatives list, a sponsor's roster...) is looked at again on every run (`left_people`): once
nothing holds them, they are anonymised (one `person.retention_anonymised` audit row each).

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

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, delete, select, update
from sqlalchemy.orm import Session

from app.audit.services import record as audit
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
from app.direct_settlement.models import DirectSettlement, DirectTrial
from app.enrollment.models import Order, Payment
from app.members.models import Member
from app.members.retention_holds import (
    account_people,
    anonymise,
    left_people,
    person_held,
    table,
)
from app.members.retention_records import delete_old_trials, due_programmes, purge_programme
from app.outbox.models import OutboxEvent
from app.renewals.models import RenewalOutcome
from app.special_drugs.models import (
    SpecialDrugApplication,
    SpecialDrugDocument,
    SpecialDrugPurchase,
)

NOW = object()  # a Scrub value: the time of the purge


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


def _trials_of(member_id: int) -> Select:
    """The hospital trials confirmed into the account's claims (part of the claim's record)."""
    return (
        select(DirectSettlement.trial_id)
        .join(Claim, Claim.id == DirectSettlement.claim_id)
        .where(Claim.member_id == member_id)
    )


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
            table("claim_lines").c.claim_id.in_(_claims_of(m)),
            table("claim_lines").c.feedetl_sn != "",
        ),
    ),
    Scrub(
        "direct_trials",
        DirectTrial,
        # the hospital's request (the settlement and its billed items as sent) and the bureau's
        # numbers; the trial number, amount and explanation stay (the hospital's queries)
        {"request": {}, "setl_id": "", "mdtrt_id": ""},
        lambda m: and_(DirectTrial.id.in_(_trials_of(m)), DirectTrial.setl_id != ""),
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
        target = table(scrub.model) if isinstance(scrub.model, str) else scrub.model
        counts[scrub.name] += rowcount(
            session.execute(update(target).where(scrub.owned(member_id)).values(**values))
        )
    for name, model, owned in DELETES:
        counts[name] += rowcount(session.execute(delete(model).where(owned(member_id))))
    people = account_people(session, member_id)
    for person_id in sorted(people):
        if person_held(session, person_id, member_id, today):
            counts["people_kept"] += 1
        elif anonymise(session, person_id):
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
    line's bureau fee-detail number ("明细 <feedetl_sn> <item>", app.claims.lines; a counter
    claim's trial explains the same lines); how many claims changed. Run before the lines'
    numbers are erased (it reads them)."""
    lines = table("claim_lines")
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
        trial = session.scalar(
            select(DirectTrial)
            .join(DirectSettlement, DirectSettlement.trial_id == DirectTrial.id)
            .where(DirectSettlement.claim_id == claim.id)
        )
        if trial is not None:  # the counter's explanation of the same lines
            trial.explanation = _without_numbers(trial.explanation, labels)
    session.flush()
    return changed


class _Discard(Exception):
    def __init__(self, counts: Counter[str]) -> None:
        super().__init__("dry run")
        self.counts = counts


def purge_retained(
    *, dry_run: bool = False, batch_size: int = 50
) -> tuple[Counter[str], list[str]]:
    """Every closed account past its retain_until, one transaction each; then the other
    bodies' records past their own retention (retention_records); then the people left
    without a holder; (counts, failures)."""
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
    totals.update(_purge_records(today, dry_run, failures))
    try:
        totals.update(_anonymise_left(today, dry_run))
    except Exception as exc:
        failures.append(f"people left: {type(exc).__name__}")
    return totals, failures


def _purge_records(today: date, dry_run: bool, failures: list[str]) -> Counter[str]:
    """Trials never confirmed past DIRECT_TRIAL_RETENTION_DAYS, a batch per transaction; then
    each programme past its retention, one per transaction (retention_records)."""
    counts: Counter[str] = Counter()
    now, days = utcnow(), current_app.config["DIRECT_TRIAL_RETENTION_DAYS"]
    after: int | None = 0
    try:
        while after is not None:
            batch: Counter[str] = Counter()
            try:
                with transaction() as s:
                    after, batch["direct_trials_deleted"] = delete_old_trials(s, now, days, after)
                    if dry_run:
                        raise _Discard(batch)
            except _Discard:
                pass
            counts += batch  # (a Counter sum keeps no zero)
    except Exception as exc:
        failures.append(f"direct trials: {type(exc).__name__}")
    with transaction() as s:
        programmes = due_programmes(s, today)
    for programme_id in programmes:
        try:
            with transaction() as s:
                done = purge_programme(s, programme_id, today)
                if dry_run:
                    raise _Discard(done)
        except _Discard as discarded:
            done = discarded.counts
        except Exception as exc:
            failures.append(f"programme {programme_id}: {type(exc).__name__}")
            continue
        counts.update(done)
    return counts


def _anonymise_left(today: date, dry_run: bool) -> Counter[str]:
    """Anonymise the people of purged accounts whom nothing holds any more (left_people), in
    one transaction; `people_anonymised` counts them."""
    counts: Counter[str] = Counter()
    try:
        with transaction() as s:
            for person_id in left_people(s):
                # member id 0 is no account's: every live account's row holds the person
                if not person_held(s, person_id, 0, today) and anonymise(s, person_id):
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
