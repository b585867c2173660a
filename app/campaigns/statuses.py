"""Campaign statuses as a StrEnum (members equal their strings), usable by the pure link rules
(app/campaigns/rules.py) and the models alike."""

from __future__ import annotations

from enum import StrEnum


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"  # final: its links stop working
