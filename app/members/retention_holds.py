"""Who still holds a person at the end of retention, and anonymising one nothing holds
(`flask members purge-retained`, app/members/retention.py; docs/privacy.md).

Every column pointing at a person is decided in `PERSON_REFERENCES`. A person stays whole while
any row holds them: a binding or a relatives list; a row of an account still live (open, or
closed and under its own retention); a row of no account (cover a sponsor bought) while that
cover's records are kept (its end + RETENTION_YEARS); another body's record until its own
retention ends and the purge deletes it (a sponsor's roster entries and batch rows, a
hospital's direct-settlement trial never confirmed). A confirmed trial is part of its claim's
record and holds as the claim does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, delete, or_, select, true, update
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignRedemption
from app.claims.models import Claim
from app.direct_settlement.models import DirectSettlement, DirectTrial
from app.enrollment.models import Order, OrderItem
from app.identity.models import InsuranceAnswer, Person
from app.members.models import Consent, Member
from app.members.privacy_rules import retention_cutoff
from app.policies.models import Policy
from app.products.models import Product
from app.renewals.models import RenewalConsent, RenewalOutcome
from app.special_drugs.models import SpecialDrugApplication

ERASED_NAME = "已删除"

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


def table(name: str) -> Table:
    """A table by name (for modules members may not import, e.g. app.claims.line_models)."""
    from app.database import Base

    return Base.metadata.tables[name]


def live_members(today: date) -> Select:
    """Accounts whose records are still held: open, or closed and still under retention."""
    return select(Member.id).where(or_(Member.closed_at.is_(None), Member.retain_until >= today))


Held = Callable[[int, date], ColumnElement[bool]] | None
Unowned = Callable[[date], ColumnElement[bool]]


def _by_member(member_column, unowned: Unowned = lambda today: true()) -> Held:
    """A row of an account holds the person when it belongs to another account still live; a
    row of no account (a NULL member) when `unowned(today)`."""

    def held(member_id: int, today: date) -> ColumnElement[bool]:
        return or_(
            and_(member_column.is_(None), unowned(today)),
            and_(member_column != member_id, member_column.in_(live_members(today))),
        )

    return held


def _cover_kept(cover_end) -> Unowned:
    """While the cover's records are kept: its end + RETENTION_YEARS is today or later."""
    return lambda today: cover_end >= retention_cutoff(today)


_order_member = select(Order.member_id).where(Order.id == OrderItem.order_id).scalar_subquery()
_policy_member = (
    select(Order.member_id)
    .join(OrderItem, OrderItem.order_id == Order.id)
    .where(OrderItem.id == Policy.order_item_id)
    .scalar_subquery()
)
_order_cover_end = (
    select(Product.coverage_ends).where(Product.id == Order.product_id).scalar_subquery()
)
_item_cover_end = (
    select(Product.coverage_ends)
    .join(Order, Order.product_id == Product.id)
    .where(Order.id == OrderItem.order_id)
    .scalar_subquery()
)
# a confirmed trial's claim's account; NULL for a trial never confirmed (it holds until the
# purge deletes it, app/members/retention_records.py)
_trial_member = (
    select(Claim.member_id)
    .join(DirectSettlement, DirectSettlement.claim_id == Claim.id)
    .where(DirectSettlement.trial_id == DirectTrial.id)
    .scalar_subquery()
)
ANY_ROW = "any row"

# Every column pointing at a person, and whether a row of it keeps the person from being
# anonymised (tests/members/test_retention.py checks this against the models, so a new column
# must be decided here):
#   a function: the row belongs to an account, or to none (_by_member);
#   ANY_ROW:    a binding, someone's relatives list, or another body's record (a sponsor's
#               roster and batch rows): it keeps the person until it is deleted;
#   None:       figures about the person only (benefit used), or what goes with the person.
PERSON_REFERENCES: dict[tuple[str, str], Held | str] = {
    ("members", "person_id"): ANY_ROW,  # closure cleared this account's own binding
    ("relatives", "person_id"): ANY_ROW,  # closure deleted this account's list
    ("orders", "payer_person_id"): _by_member(Order.member_id, _cover_kept(_order_cover_end)),
    ("order_items", "person_id"): _by_member(_order_member, _cover_kept(_item_cover_end)),
    ("policies", "person_id"): _by_member(_policy_member, _cover_kept(Policy.coverage_end)),
    ("claims", "person_id"): _by_member(Claim.member_id),
    ("special_drug_applications", "person_id"): _by_member(SpecialDrugApplication.member_id),
    ("campaign_redemptions", "person_id"): _by_member(CampaignRedemption.member_id),
    ("renewal_consents", "person_id"): _by_member(RenewalConsent.member_id),
    ("renewal_outcomes", "person_id"): _by_member(RenewalOutcome.member_id),
    ("roster_entries", "person_id"): ANY_ROW,  # deleted at the programme's end of retention
    ("job_rows", "person_id"): ANY_ROW,  # likewise
    ("direct_trials", "person_id"): _by_member(_trial_member),
    ("accumulator_years", "person_id"): None,
    ("special_drug_usage", "person_id"): None,
    ("insurance_answers", "person_id"): None,  # deleted with the person
    ("consents", "subject_person_id"): None,  # the link is cleared
}


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
    binding or relatives list, a sponsor's roster...); once nothing does, the purge anonymises
    them. (The people a programme's roster named are looked at when it is deleted,
    retention_records.purge_programme: nothing names them after that.)"""
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
    for (name, column), rule in PERSON_REFERENCES.items():
        if rule is None:
            continue
        col = table(name).c[column]
        query = select(col).where(col == person_id)
        if callable(rule):
            query = query.where(rule(member_id, today))
        if session.scalar(query.limit(1)) is not None:
            return True
    return False


def anonymise(session: Session, person_id: int) -> bool:
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
