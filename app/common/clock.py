"""Dates as people in the city see them: Asia/Shanghai."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_shanghai() -> date:
    return datetime.now(timezone.utc).astimezone(SHANGHAI).date()
