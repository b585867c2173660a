"""A campaign redemption whose policy was surrendered (退保): the place goes back, the person does
not get it back.

- **The place.** Surrender refunds the sponsor, which gives the programme its budget and its
  beneficiary back (app/payments/refunds.py, `release_budget`: at once for a sponsor refund).
  The campaign gives back its place in the surrender's own transaction (the hook point
  `payments.policy_surrendered`), so `claimed` counts redemptions that hold cover and the places
  left the campaign shows agree with what the programme's budget shows. Called once per policy
  (only the UPDATE that moved it from active calls the hook); the decrement is conditional all
  the same, so `claimed` never goes below 0. Between the two transactions the places left are
  still capped by the budget (rules.places_left), so no place is offered that is not paid for.
- **The person.** Scanning the same invitation again is refused with a coded 409
  (`campaign_redemption_surrendered`), not answered 200 with the void policy (which looked like
  cover). One invitation is one gift per person: who handed it back may enroll the ordinary way
  (paying, or with any other programme's subsidy), not take the same gift again, which would
  let a redeem-surrender loop churn the sponsor's ledger and the public figures.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from app.audit.services import record as audit
from app.campaigns.models import Campaign, CampaignRedemption
from app.error_catalogue import E
from app.policies.models import Policy, PolicyStatus

SURRENDERED = "您已退保通过该邀请领取的保单，同一邀请不能再次领取；如需保障，请在投保期内自行投保"
RELATIVE_SURRENDERED = (
    "该家属已退保通过该邀请领取的保单，同一邀请不能再次领取；如需保障，请在投保期内自行投保"
)
GIVEN_BACK = (PolicyStatus.SURRENDERED, PolicyStatus.VOID)


def release_place(session, policy_id: int) -> None:
    """The campaign place of the redemption that gave `policy_id`, back (none: not a campaign
    policy). Runs inside the transaction that surrendered the policy."""
    redemption = session.scalar(
        select(CampaignRedemption).where(CampaignRedemption.policy_id == policy_id)
    )
    if redemption is None:
        return
    won = cast(
        CursorResult[Any],
        session.execute(
            update(Campaign)
            .where(Campaign.id == redemption.campaign_id, Campaign.claimed > 0)
            .values(claimed=Campaign.claimed - 1)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if won == 1:
        audit(
            session,
            actor_type="system",
            actor_id=None,
            action="campaign.place_released",
            object_type="campaign",
            object_id=redemption.campaign_id,
            detail={"policy_id": policy_id, "reason": "surrendered"},
        )


def refuse_if_surrendered(session, redemption: CampaignRedemption, relation: str) -> None:
    """The person's earlier redemption of this campaign: its cover surrendered -> 409."""
    status = session.scalar(select(Policy.status).where(Policy.id == redemption.policy_id))
    if status in GIVEN_BACK:
        raise E.campaign_redemption_surrendered(
            SURRENDERED if relation == "self" else RELATIVE_SURRENDERED
        )
