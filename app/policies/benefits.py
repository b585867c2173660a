"""The benefits of a product, in the words a policy document prints (pure: no Flask, no database).

``benefit_rows(defn)`` turns each bucket of the product definition into a ``BenefitRow``:
the deductible (and the one for pre-existing conditions, a shared annual deductible, the renewal
reduction), the payout ratios for the healthy and for pre-existing conditions, the tiers, the
annual cap, the sub-limits and whether only the commercial list counts; all from the product
data, nothing invented. The policy PDF prints the rows as a table; the certificate PNG prints
``benefit_lines(defn)``, the same rows as one line each.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.common.money import yuan
from app.products.definition import Bucket, ProductDefinition

_PER = {"year": "每年", "admission": "每次住院", "item": "每项"}


def percent(bp: int) -> str:
    """7500 -> '75%', 7550 -> '75.50%'."""
    whole, rest = divmod(bp, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}%"


def _ratios(healthy_bp: int, pre_existing_bp: int) -> str:
    if healthy_bp == pre_existing_bp:
        return percent(healthy_bp)
    pre = "不赔付" if pre_existing_bp == 0 else percent(pre_existing_bp)
    return f"{percent(healthy_bp)}（既往症人群 {pre}）"


@dataclass(frozen=True)
class BenefitRow:
    """One bucket in four columns: the policy PDF prints them as a table."""

    name: str
    deductible: str
    ratio: str
    cap: str
    notes: tuple[str, ...]

    def summary(self) -> str:
        """The row as one sentence of clauses joined by '；' (the certificate PNG)."""
        deductible = "无起付线" if self.deductible == NONE else f"年度起付线 {self.deductible}"
        cap = "年度不设封顶" if self.cap == NO_CAP else f"年度封顶 {self.cap}"
        return "；".join((deductible, f"赔付比例 {self.ratio}", cap, *self.notes))


NONE = "无"
NO_CAP = "不设封顶"


def benefit_row(bucket: Bucket, shares_deductible: bool = False) -> BenefitRow:
    notes = []
    if bucket.deductible_fen == 0 and not bucket.deductible_pre_existing_fen:
        deductible = NONE
    else:
        deductible = f"{yuan(bucket.deductible_fen)} 元"
        if bucket.deductible_pre_existing_fen is not None:
            deductible += f"（既往症人群 {yuan(bucket.deductible_pre_existing_fen)} 元）"
        if shares_deductible:
            notes.append("与同组责任共用年度起付线")
    ratio = _ratios(bucket.ratio_healthy_bp, bucket.ratio_pre_existing_bp)
    where = "超过起付线后累计" if bucket.tiers_from == "above_deductible" else "年度累计"
    for tier in bucket.tiers:
        ratios = _ratios(tier.ratio_healthy_bp, tier.ratio_pre_existing_bp)
        ratio += f"；{where}超过 {yuan(tier.above_fen)} 元的部分 {ratios}"
    cap = NO_CAP if bucket.cap_fen is None else f"{yuan(bucket.cap_fen)} 元"
    if bucket.renewal_deductible_step_fen:
        notes.append(
            f"连续健康续保每年起付线降低 {yuan(bucket.renewal_deductible_step_fen)} 元，"
            f"最低 {yuan(bucket.renewal_deductible_floor_fen)} 元"
        )
    for sub in bucket.sub_caps:
        per = _PER.get(sub.per)
        notes.append(f"{sub.name}{f'（{per}）' if per else ''} {yuan(sub.cap_fen)} 元")
    if bucket.commercial_list_required:
        notes.append("限产品目录内费用")
    return BenefitRow(bucket.name, deductible, ratio, cap, tuple(notes))


def benefit_rows(defn: ProductDefinition) -> list[BenefitRow]:
    """One row per bucket of the product, in the definition's order."""
    groups: dict[str, int] = {}
    for bucket in defn.buckets:
        if bucket.deductible_group:
            groups[bucket.deductible_group] = groups.get(bucket.deductible_group, 0) + 1
    return [
        benefit_row(bucket, groups.get(bucket.deductible_group or "", 0) > 1)
        for bucket in defn.buckets
    ]


def benefit_lines(defn: ProductDefinition) -> list[tuple[str, str]]:
    """(bucket name, summary) for each bucket of the product, in the definition's order."""
    return [(row.name, row.summary()) for row in benefit_rows(defn)]
