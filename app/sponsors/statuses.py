"""Programme statuses as a StrEnum: members equal their strings, so rows read back as plain str
compare equal, and pure rules (app/sponsors/rules.py) can use it without the models."""

from __future__ import annotations

from enum import StrEnum

# The kinds of organisation that fund cover: plain shared vocabulary (the models' CHECK, the
# schemas, disclosure's funding sources), so it sits here with the statuses, below every service.
ORGANISATION_KINDS = ("employer", "charity", "relief_fund", "paired_assistance")


class ProgrammeStatus(StrEnum):
    ACTIVE = "active"  # subsidises new orders
    PAUSED = "paused"  # keeps its budget, subsidises nothing new for now
    CLOSED = "closed"  # final: no top-ups, rosters, jobs or invites
