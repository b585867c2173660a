"""Early warnings of the operator dashboard (资金运行风险预警): pure functions over plain figures.

The Ganzhou scheme asks the insurer to "strengthen early warning of the fund's running risk"
(加强赣州惠民保资金运行风险预警). Each check below takes the figures it needs (gathered by
app/disclosure/dashboard.py) and the thresholds (declared in app/config.py Config, DASHBOARD_*)
and returns the warnings it finds. A warning is a stable code, a level, a Chinese message and the
numbers behind it. Every comparison is exact (cross-multiplied integers), never made on a rounded
ratio; the ratios shown are basis points rounded half up.

Checks and their rules:
- loss ratio (projected): PROJECTION = (claims paid + claims approved and awaiting transfer)
  x coverage days / coverage days elapsed / net premium, i.e. the incurred claims of the cover so
  far run on at the same daily rate to the end of the cover, over the premium collected so far.
  No projection before `projection_min_days` days of cover (too few claims to say anything) or
  without premium. Outside the settlement corridor [renegotiate_below, renegotiate_above]:
  below it a warning (the premium will be renegotiated, the surplus returned), above it critical
  (the fund pays out more than it collects); below the loss-ratio floor (Ganzhou: 80%) critical
  (the scheme's promise to members is not kept). A product without a corridor is checked against
  its floor only.
- sponsor budget: a programme with a budget whose committed share (reserved for open orders and
  spent on paid ones) reaches `budget_warn_bp`: a warning; all of it committed: critical.
- reconciliation backlog: payments, refunds or payouts still pending (their outcome unknown, for
  reconciliation to settle) for longer than `reconciliation_age_seconds`: a warning per kind;
  critical when the oldest has waited `reconciliation_critical_seconds`.
- failing payouts: among the claim transfers that ended in the recent window, at least
  `payout_failure_min` failed and the failed share reaches `payout_failure_warn_bp`: a warning;
  reaching `payout_failure_critical_bp`: critical.
- fraud flags: claims submitted in the recent window carrying a fraud flag, against the share in
  the trailing baseline window before it: at least `fraud_min_flagged` flagged claims and a share
  at least `fraud_rate_factor_pct` percent of the baseline's (any share when the baseline had
  no flagged claim or no claim at all): a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.common.money import BP, percent, round_half_up_div, yuan


class WarningLevel(StrEnum):
    WARNING = "warning"  # look into it
    CRITICAL = "critical"  # act now


@dataclass(frozen=True)
class EarlyWarning:
    code: str
    level: WarningLevel
    message: str
    figures: dict[str, int | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Thresholds:
    """The DASHBOARD_* settings (app/config.py), as the checks take them."""

    projection_min_days: int
    budget_warn_bp: int
    reconciliation_age_seconds: int
    reconciliation_critical_seconds: int
    payout_failure_min: int
    payout_failure_warn_bp: int
    payout_failure_critical_bp: int
    fraud_min_flagged: int
    fraud_rate_factor_pct: int


def _share_bp(part: int, whole: int) -> int:
    return round_half_up_div(part * BP, whole)


# --- loss ratio --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossRatioFacts:
    net_premium_fen: int
    claims_paid_fen: int
    claims_approved_unpaid_fen: int  # approved, the transfer not yet made (money owed)
    coverage_days: int  # days in the coverage period, both ends included
    elapsed_days: int  # days of cover up to and including today (0 before it starts)
    floor_bp: int | None
    corridor_low_bp: int | None  # the corridor's renegotiate_below_bp
    corridor_high_bp: int | None  # the corridor's renegotiate_above_bp


def _projection_parts(f: LossRatioFacts, t: Thresholds) -> tuple[int, int] | None:
    """(numerator, denominator) of the projected loss ratio (a fraction, not yet in bp), or None
    when there is nothing to project (see PROJECTION in the module doc)."""
    elapsed = min(f.elapsed_days, f.coverage_days)
    if f.net_premium_fen <= 0 or elapsed < max(t.projection_min_days, 1):
        return None
    incurred = f.claims_paid_fen + f.claims_approved_unpaid_fen
    return incurred * f.coverage_days, elapsed * f.net_premium_fen


def projected_loss_ratio_bp(f: LossRatioFacts, t: Thresholds) -> int | None:
    parts = _projection_parts(f, t)
    return None if parts is None else round_half_up_div(parts[0] * BP, parts[1])


def loss_ratio_warnings(f: LossRatioFacts, t: Thresholds) -> list[EarlyWarning]:
    parts = _projection_parts(f, t)
    if parts is None:
        return []
    numerator, denominator = parts
    projected = round_half_up_div(numerator * BP, denominator)

    def below(bp: int | None) -> bool:
        return bp is not None and numerator * BP < bp * denominator

    def above(bp: int | None) -> bool:
        return bp is not None and numerator * BP > bp * denominator

    figures: dict[str, int | str | None] = {
        "projected_loss_ratio_bp": projected,
        "net_premium_fen": f.net_premium_fen,
        "claims_paid_fen": f.claims_paid_fen,
        "claims_approved_unpaid_fen": f.claims_approved_unpaid_fen,
        "coverage_days": f.coverage_days,
        "elapsed_days": min(f.elapsed_days, f.coverage_days),
        "floor_bp": f.floor_bp,
        "corridor_low_bp": f.corridor_low_bp,
        "corridor_high_bp": f.corridor_high_bp,
    }
    shown = percent(projected)
    if below(f.floor_bp):
        assert f.floor_bp is not None
        return [
            EarlyWarning(
                "loss_ratio_projected_below_floor",
                WarningLevel.CRITICAL,
                f"按当前赔付进度预测全年赔付率为 {shown}，低于 {percent(f.floor_bp)} 的赔付率下限",
                figures,
            )
        ]
    if below(f.corridor_low_bp):
        assert f.corridor_low_bp is not None
        return [
            EarlyWarning(
                "loss_ratio_projected_below_corridor",
                WarningLevel.WARNING,
                f"按当前赔付进度预测全年赔付率为 {shown}，低于结算走廊下限 "
                f"{percent(f.corridor_low_bp)}，结余将返还并需重新议定保费",
                figures,
            )
        ]
    if above(f.corridor_high_bp):
        assert f.corridor_high_bp is not None
        return [
            EarlyWarning(
                "loss_ratio_projected_above_corridor",
                WarningLevel.CRITICAL,
                f"按当前赔付进度预测全年赔付率为 {shown}，高于结算走廊上限 "
                f"{percent(f.corridor_high_bp)}，基金收不抵支的风险上升",
                figures,
            )
        ]
    return []


# --- sponsor budgets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetFacts:
    programme_id: int
    programme_name: str
    organisation_name: str
    budget_total_fen: int
    budget_reserved_fen: int  # reserved for open orders plus spent on paid ones


def budget_warnings(budgets: Iterable[BudgetFacts], t: Thresholds) -> list[EarlyWarning]:
    found = []
    for b in budgets:
        total, committed = b.budget_total_fen, b.budget_reserved_fen
        if total <= 0 or committed * BP < t.budget_warn_bp * total:
            continue
        exhausted = committed >= total
        used = _share_bp(committed, total)
        found.append(
            EarlyWarning(
                "sponsor_budget_exhausted" if exhausted else "sponsor_budget_nearly_spent",
                WarningLevel.CRITICAL if exhausted else WarningLevel.WARNING,
                f"{b.organisation_name}「{b.programme_name}」预算已使用 {percent(used)}"
                f"（{yuan(committed)} / {yuan(total)} 元），剩余 {yuan(total - committed)} 元",
                {
                    "programme_id": b.programme_id,
                    "budget_total_fen": total,
                    "budget_committed_fen": committed,
                    "budget_remaining_fen": total - committed,
                    "used_bp": used,
                    "warn_bp": t.budget_warn_bp,
                },
            )
        )
    return found


# --- reconciliation backlog --------------------------------------------------------------------

BACKLOG_KINDS = {"payment": "保费支付", "refund": "保费退款", "payout": "理赔转账"}


@dataclass(frozen=True)
class BacklogFacts:
    """Items of one kind pending for longer than the age threshold (the service counts them)."""

    kind: str  # payment | refund | payout
    count: int
    amount_fen: int
    oldest_age_seconds: int  # 0 when count is 0


def reconciliation_warnings(backlogs: Iterable[BacklogFacts], t: Thresholds) -> list[EarlyWarning]:
    found = []
    for b in backlogs:
        if b.count <= 0:
            continue
        critical = b.oldest_age_seconds >= t.reconciliation_critical_seconds
        hours = b.oldest_age_seconds // 3600
        found.append(
            EarlyWarning(
                "reconciliation_backlog",
                WarningLevel.CRITICAL if critical else WarningLevel.WARNING,
                f"{b.count} 笔{BACKLOG_KINDS[b.kind]}（{yuan(b.amount_fen)} 元）结果未明，"
                f"超过 {t.reconciliation_age_seconds // 60} 分钟未对账，最久已等待 {hours} 小时",
                {
                    "kind": b.kind,
                    "count": b.count,
                    "amount_fen": b.amount_fen,
                    "oldest_age_seconds": b.oldest_age_seconds,
                    "age_threshold_seconds": t.reconciliation_age_seconds,
                },
            )
        )
    return found


# --- failing payouts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutFacts:
    window_days: int
    succeeded: int  # transfers that succeeded in the window
    failed: int  # transfers that failed in the window
    failed_fen: int


def payout_warnings(f: PayoutFacts, t: Thresholds) -> list[EarlyWarning]:
    ended = f.succeeded + f.failed
    if f.failed < max(t.payout_failure_min, 1) or f.failed * BP < t.payout_failure_warn_bp * ended:
        return []
    critical = f.failed * BP >= t.payout_failure_critical_bp * ended
    share = _share_bp(f.failed, ended)
    return [
        EarlyWarning(
            "payouts_failing",
            WarningLevel.CRITICAL if critical else WarningLevel.WARNING,
            f"近 {f.window_days} 天理赔转账失败 {f.failed} 笔（{yuan(f.failed_fen)} 元），"
            f"占已完成转账的 {percent(share)}",
            {
                "window_days": f.window_days,
                "succeeded": f.succeeded,
                "failed": f.failed,
                "failed_fen": f.failed_fen,
                "failed_share_bp": share,
                "warn_bp": t.payout_failure_warn_bp,
            },
        )
    ]


# --- fraud flags -------------------------------------------------------------------------------

# Flags a claim may carry that are not a suspicion about the claim itself: a bank transfer that
# failed is an operations matter (counted by the payouts check).
NOT_FRAUD_FLAGS = frozenset({"payout_failed"})


def has_fraud_flag(flags: Iterable[dict[str, Any]]) -> bool:
    """Whether a claim's stored flags ([{"code", "zh"}]) include a fraud check's."""
    return any(f.get("code") not in NOT_FRAUD_FLAGS for f in flags)


@dataclass(frozen=True)
class FraudRateFacts:
    window_days: int
    baseline_days: int
    recent_claims: int  # claims submitted in the recent window
    recent_flagged: int  # ... carrying a fraud flag
    baseline_claims: int  # claims submitted in the baseline window before it
    baseline_flagged: int


def fraud_rate_warnings(f: FraudRateFacts, t: Thresholds) -> list[EarlyWarning]:
    if f.recent_flagged < max(t.fraud_min_flagged, 1) or f.recent_claims <= 0:
        return []
    has_baseline = f.baseline_claims > 0 and f.baseline_flagged > 0
    # recent share >= factor% of the baseline share, cross-multiplied:
    # recent_flagged / recent_claims >= factor/100 x baseline_flagged / baseline_claims
    if has_baseline and (
        f.recent_flagged * f.baseline_claims * 100
        < t.fraud_rate_factor_pct * f.baseline_flagged * f.recent_claims
    ):
        return []
    recent = _share_bp(f.recent_flagged, f.recent_claims)
    baseline = _share_bp(f.baseline_flagged, f.baseline_claims) if f.baseline_claims else None
    compared = (
        f"前 {f.baseline_days} 天为 {percent(baseline)}"
        if baseline is not None
        else f"前 {f.baseline_days} 天无理赔可比"
    )
    return [
        EarlyWarning(
            "fraud_flags_unusual",
            WarningLevel.WARNING,
            f"近 {f.window_days} 天提交的 {f.recent_claims} 笔理赔中 {f.recent_flagged} 笔触发"
            f"风险标记（{percent(recent)}），{compared}",
            {
                "window_days": f.window_days,
                "baseline_days": f.baseline_days,
                "recent_claims": f.recent_claims,
                "recent_flagged": f.recent_flagged,
                "recent_share_bp": recent,
                "baseline_claims": f.baseline_claims,
                "baseline_flagged": f.baseline_flagged,
                "baseline_share_bp": baseline,
                "factor_pct": t.fraud_rate_factor_pct,
            },
        )
    ]
