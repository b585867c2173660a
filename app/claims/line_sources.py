"""A claim's itemised lines from the capabilities that filed it (hook point
`claims.claim_lines`, app/common/hooks.py): a special-drug purchase claim carries its drug line
there, so the engine can count a bucket limited to the special-drug list."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.adjudication.model import ClaimLine
from app.claims.models import Claim
from app.common import hooks


def claim_lines(session: Session, claim: Claim) -> tuple[ClaimLine, ...]:
    """Every provider's lines for this claim, in registration order."""
    return tuple(
        line for provider in hooks.providers(hooks.CLAIM_LINES) for line in provider(session, claim)
    )
