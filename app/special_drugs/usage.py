"""A person's special-drug approvals and their use of each drug's annual cap, for purchases and
for itemised claims alike.

- `approval_of`: an application as the approval the catalogue matcher checks a line against
  (app.catalogues.matching.SpecialDrugApproval); `approvals_of`: every approval a person was
  given for a product (approved, or expired after its period: a line dated inside that period
  still counts under it).
- The cap: one SpecialDrugUsage row per person, product, plan year and drug (`usage_of`,
  `open_usage`). It moves only by a conditional UPDATE on the value read (`take`), so two
  purchases or claims at once cannot both take the last of it: the loser reads again.
- Itemised claims (hooks `claims.special_drug_terms` and `claims.special_drug_hold`, asked by
  app/claims/lines.py): `terms_for` gives the matcher the approvals and the cap use by everything
  but the claim itself; `hold_for_claim` makes what the claim holds (SpecialDrugClaimHold) what
  its match counted, against the use the match read, or gives it all back.
- A supplement (a later claim for a stay, app/claims/supplements.py) states the whole stay: what
  the stay's earlier settled claims hold is room for its match too, and it holds only what the
  stay counts beyond that (`rules.supplement_hold`), so the stay is counted once and undoing
  the supplement gives back only its own part.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.catalogues.matching import CapUse, LineMatch, SpecialDrugApproval, SpecialDrugTerms
from app.claims.accumulators import StaleAccumulators
from app.claims.common import rows_changed
from app.claims.models import Claim
from app.claims.supplements import same_episode_claims
from app.special_drugs import rules
from app.special_drugs.models import (
    ApplicationStatus,
    SpecialDrugApplication,
    SpecialDrugClaimHold,
    SpecialDrugUsage,
)

# An approval that was given: still in force, or closed after its period (its dates stand).
GIVEN = (ApplicationStatus.APPROVED, ApplicationStatus.EXPIRED)


def approval_of(application: SpecialDrugApplication) -> SpecialDrugApproval | None:
    """The application as an approval, None while it has no approved period."""
    if application.valid_from is None or application.valid_to is None:
        return None
    return SpecialDrugApproval(
        application.drug_code,
        application.indication,
        application.valid_from,
        application.valid_to,
        application.application_no,
    )


def approvals_of(
    session: Session, person_id: int, product_id: int
) -> tuple[SpecialDrugApproval, ...]:
    applications = session.scalars(
        select(SpecialDrugApplication)
        .where(
            SpecialDrugApplication.person_id == person_id,
            SpecialDrugApplication.product_id == product_id,
            SpecialDrugApplication.status.in_(GIVEN),
        )
        .order_by(SpecialDrugApplication.id)
    )
    return tuple(a for a in map(approval_of, applications) if a is not None)


def usage_of(
    session: Session, person_id: int, product_id: int, plan_year: int, drug_code: str
) -> SpecialDrugUsage | None:
    return session.scalar(
        select(SpecialDrugUsage).where(
            SpecialDrugUsage.person_id == person_id,
            SpecialDrugUsage.product_id == product_id,
            SpecialDrugUsage.plan_year == plan_year,
            SpecialDrugUsage.drug_code == drug_code,
        )
    )


def open_usage(
    session: Session,
    person_id: int,
    product_id: int,
    plan_year: int,
    drug_code: str,
    cap_fen: int | None,
) -> SpecialDrugUsage:
    """The cap's row, made (nothing used) when there is none yet; a concurrent insert of the
    same row is fine (a savepoint keeps the caller's transaction)."""
    key = (person_id, product_id, plan_year, drug_code)
    found = usage_of(session, *key)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = SpecialDrugUsage(
                person_id=person_id,
                product_id=product_id,
                plan_year=plan_year,
                drug_code=drug_code,
                cap_fen=cap_fen,
                used_fen=0,
            )
            session.add(row)
        return row
    except IntegrityError:
        pass  # another purchase or claim made it first
    made = usage_of(session, *key)
    assert made is not None
    return made


def take(session: Session, usage_id: int, read_fen: int, delta_fen: int) -> bool:
    """Move the cap's use by delta_fen if it is still what was read (False: it moved since)."""
    return (
        rows_changed(
            session,
            update(SpecialDrugUsage)
            .where(SpecialDrugUsage.id == usage_id, SpecialDrugUsage.used_fen == read_fen)
            .values(used_fen=SpecialDrugUsage.used_fen + delta_fen),
        )
        == 1
    )


# --- itemised claims (hooks claims.special_drug_terms and claims.special_drug_hold) ---------------


def _holds(session: Session, claim_id: int) -> list[SpecialDrugClaimHold]:
    return list(
        session.scalars(
            select(SpecialDrugClaimHold).where(SpecialDrugClaimHold.claim_id == claim_id)
        )
    )


def _episode_holds(session: Session, claim: Claim) -> dict[int, int]:
    """What the stay's other claims hold of each cap (usage id -> fen): only settled claims
    hold, so for a supplement this is what the earlier settled claims of its stay hold."""
    others = [c.id for c, _ in same_episode_claims(session, claim)]
    if not others:
        return {}
    rows = session.execute(
        select(SpecialDrugClaimHold.usage_id, func.sum(SpecialDrugClaimHold.amount_fen))
        .where(SpecialDrugClaimHold.claim_id.in_(others))
        .group_by(SpecialDrugClaimHold.usage_id)
    )
    return {usage_id: int(fen) for usage_id, fen in rows}


def _room_of(session: Session, claim: Claim) -> dict[int, int]:
    """What of each cap is room for the claim's match: its own hold, and (a supplement) what
    the earlier settled claims of its stay hold for the same lines."""
    room = _episode_holds(session, claim)
    for h in _holds(session, claim.id):
        room[h.usage_id] = room.get(h.usage_id, 0) + h.amount_fen
    return room


def terms_for(
    session: Session, person_id: int, product_id: int, plan_year: int, claim_id: int | None
) -> SpecialDrugTerms:
    """Hook `claims.special_drug_terms`: the person's approvals for the product, and each
    drug's cap use in the plan year by everything but the claim `claim_id` (what it holds
    itself, and for a supplement what its stay's earlier claims hold, is room for it)."""
    claim = session.get(Claim, claim_id) if claim_id else None
    own = _room_of(session, claim) if claim is not None else {}
    rows = session.scalars(
        select(SpecialDrugUsage).where(
            SpecialDrugUsage.person_id == person_id,
            SpecialDrugUsage.product_id == product_id,
            SpecialDrugUsage.plan_year == plan_year,
        )
    )
    return SpecialDrugTerms(
        approvals_of(session, person_id, product_id),
        {r.drug_code: CapUse(r.cap_fen, r.used_fen - own.get(r.id, 0)) for r in rows},
    )


def hold_for_claim(session: Session, claim: Claim, match: LineMatch | None) -> None:
    """Hook `claims.special_drug_hold`: what the claim holds of each drug's cap becomes what
    `match` counts (match None: nothing, all given back). A cap whose use moved since the match
    read it raises StaleAccumulators: the caller runs the engine again on what is there now.
    A supplement holds only what its stay counts beyond the stay's earlier claims' holds."""
    wanted: Mapping[str, int] = match.special_drugs_by_drug if match is not None else {}
    held = {h.usage_id: h for h in _holds(session, claim.id)}
    earlier = _episode_holds(session, claim) if wanted else {}
    for drug_code, counted in wanted.items():
        assert match is not None
        seen = match.cap_uses[drug_code]  # the use the match read (within_caps names each drug)
        usage = open_usage(
            session, claim.person_id, claim.product_id, claim.plan_year, drug_code, seen.cap_fen
        )
        hold = held.pop(usage.id, None)
        have = hold.amount_fen if hold is not None else 0
        before = earlier.get(usage.id, 0)  # the match read the use without it
        fen = rules.supplement_hold(counted, before)
        if usage.cap_fen != seen.cap_fen:
            raise StaleAccumulators()  # the row was opened since, with another cap
        if fen != have and not take(session, usage.id, seen.used_fen + have + before, fen - have):
            raise StaleAccumulators()  # another purchase or claim used the cap: read it again
        if fen == 0:
            if hold is not None:
                session.delete(hold)
        elif hold is None:
            session.add(SpecialDrugClaimHold(claim_id=claim.id, usage_id=usage.id, amount_fen=fen))
        else:
            hold.amount_fen = fen
    for hold in held.values():  # no longer counted: given back
        session.execute(
            update(SpecialDrugUsage)
            .where(SpecialDrugUsage.id == hold.usage_id)
            .values(used_fen=SpecialDrugUsage.used_fen - hold.amount_fen)
        )
        session.execute(delete(SpecialDrugClaimHold).where(SpecialDrugClaimHold.id == hold.id))
