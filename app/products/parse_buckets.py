"""Parser of a product definition's [[buckets]], with their tiers and sub-caps (pure: no
Flask, no database). One yuan of the member's money is paid by one bucket at most, and
buckets sharing a deductible group must agree on its figures."""

from __future__ import annotations

import re
from typing import Any

from app.common.money import yuan_short
from app.products.checker import MISSING, Checker, Get, getter
from app.products.definition import (
    COUNTABLE_AMOUNTS,
    Bounds,
    Bucket,
    SubCap,
    Tier,
)

BUCKET_CODE_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")
SUB_CAP_PERIODS = ("year", "admission", "item")
TIERS_FROM = ("first_yuan", "above_deductible")

BUCKET_REQUIRED = (
    "code",
    "name",
    "counts",
    "deductible_fen",
    "ratio_healthy_bp",
    "ratio_pre_existing_bp",
)
BUCKET_OPTIONAL = (
    "cap_fen",  # required unless no_cap = true
    "no_cap",
    "tiers_from",
    "deductible_pre_existing_fen",
    "deductible_group",
    "renewal_deductible_step_fen",
    "renewal_deductible_floor_fen",
    "tiers",
    "sub_caps",
    "commercial_list_required",
)


def parse_amount_kinds(c: Checker, raw: Any) -> dict[str, str]:
    """[amount_kinds]: kinds of the member's money the product adds to the built-in ones
    (code = "中文名称"), e.g. car_t = "CAR-T 细胞治疗费用"."""
    if raw is MISSING:
        return {}
    table = c.table(raw, "amount_kinds", (), tuple(raw) if isinstance(raw, dict) else ())
    kinds: dict[str, str] = {}
    for code, name in (table or {}).items():
        path = f"amount_kinds.{code}"
        if not BUCKET_CODE_PATTERN.fullmatch(code):
            c.add(path, "费用类别代码只能用小写字母、数字和下划线")
        elif code in COUNTABLE_AMOUNTS:
            c.add(path, f"“{code}”是内置费用类别，无需声明")
        label = c.string(name, path, max_length=100)
        if label is not None and BUCKET_CODE_PATTERN.fullmatch(code):
            kinds[code] = label
    return kinds


def parse_settlement_providers(c: Checker, raw: Any, counted: tuple[str, ...]) -> dict[str, str]:
    """[settlement_providers]: "<fixmedins_code>" = "<amount kind>": a settlement record from
    that provider carries its out-of-policy self-pay as the kind (a kind some bucket counts)."""
    if raw is MISSING:
        return {}
    table = c.table(raw, "settlement_providers", (), tuple(raw) if isinstance(raw, dict) else ())
    providers: dict[str, str] = {}
    for code, kind in (table or {}).items():
        path = f"settlement_providers.{code}"
        if kind not in counted:
            c.add(path, f"“{kind}”不是本产品任何责任计入的费用类别")
        else:
            providers[code] = kind
    return providers


def parse_buckets(
    c: Checker, raw: Any, bounds: Bounds, kinds: tuple[str, ...] = COUNTABLE_AMOUNTS
) -> tuple[Bucket, ...]:
    """[[buckets]]; `kinds` are the amounts a bucket may count (built-in and declared)."""
    items = c.list_of_tables(raw, "buckets", non_empty=True)
    buckets: list[Bucket] = []
    codes: dict[str, int] = {}  # bucket code -> index of its first use
    counted_by: dict[str, int] = {}  # amount -> index of the bucket counting it
    for i, item in enumerate(items):
        bucket = _bucket(c, item, i, bounds, codes, counted_by, kinds)
        if bucket is not None:
            buckets.append(bucket)
    _check_groups(c, buckets, items)
    return tuple(buckets)


def _bucket(
    c: Checker,
    item: Any,
    i: int,
    bounds: Bounds,
    codes: dict[str, int],
    counted_by: dict[str, int],
    kinds: tuple[str, ...] = COUNTABLE_AMOUNTS,
) -> Bucket | None:
    """buckets[i], checked field by field in the order of the table; None when any required
    figure is wrong (each problem is already recorded)."""
    path = f"buckets[{i}]"
    table = c.table(item, path, BUCKET_REQUIRED, BUCKET_OPTIONAL)
    if table is None:
        return None
    get = getter(table)
    code = _code(c, get, path, i, codes)
    name = c.string(get("name"), f"{path}.name", max_length=100)
    counts = _counts(c, get, path, i, counted_by, kinds)
    deductible, deductible_pre = _deductibles(c, get, path, bounds)
    healthy = c.ratio(get("ratio_healthy_bp"), f"{path}.ratio_healthy_bp")
    pre = c.ratio(get("ratio_pre_existing_bp"), f"{path}.ratio_pre_existing_bp")
    if healthy is not None and pre is not None and pre > healthy:
        c.add(f"{path}.ratio_pre_existing_bp", "既往症人群的赔付比例不能高于健康人群")
    no_cap = c.boolean(get("no_cap", False), f"{path}.no_cap")
    cap: int | None = None
    if no_cap and get("cap_fen", None) is not None:
        c.add(f"{path}.cap_fen", "不设封顶线（no_cap = true）时不能再设置封顶线")
    elif not no_cap and get("cap_fen", None) is None:
        c.add(f"{path}.cap_fen", "缺少必填项（不设封顶线时写 no_cap = true）")
    elif not no_cap:
        cap = c.fen(get("cap_fen"), f"{path}.cap_fen", positive=True)
    if cap is not None and bounds.cap_min_fen is not None and cap < bounds.cap_min_fen:
        c.add(
            f"{path}.cap_fen",
            f"封顶线 {yuan_short(cap)} 元 低于下限 {yuan_short(bounds.cap_min_fen)} 元",
        )
    group = None
    if get("deductible_group", None) is not None:
        group = c.string(
            get("deductible_group"),
            f"{path}.deductible_group",
            max_length=40,
            pattern=BUCKET_CODE_PATTERN,
            pattern_hint="只能用小写字母、数字和下划线",
        )
    step, floor = _renewal(c, get, path, deductible)
    commercial = c.boolean(
        get("commercial_list_required", False), f"{path}.commercial_list_required"
    )
    tiers = _tiers(c, get("tiers"), path, healthy, pre)
    tiers_from = get("tiers_from", "first_yuan")
    if tiers_from not in TIERS_FROM:
        c.add(f"{path}.tiers_from", f"“{tiers_from}”不是允许的取值，可选：{'、'.join(TIERS_FROM)}")
    sub_caps = _sub_caps(c, get("sub_caps"), path, cap)
    if (
        code is None
        or name is None
        or counts is None
        or deductible is None
        or healthy is None
        or pre is None
        or step is None
        or floor is None
        or commercial is None
        or no_cap is None
    ):
        return None
    if (cap is None and not no_cap) or tiers_from not in TIERS_FROM:
        return None
    return Bucket(
        code=code,
        name=name,
        counts=counts,
        deductible_fen=deductible,
        ratio_healthy_bp=healthy,
        ratio_pre_existing_bp=pre,
        cap_fen=cap,
        deductible_pre_existing_fen=deductible_pre,
        deductible_group=group,
        renewal_deductible_step_fen=step,
        renewal_deductible_floor_fen=floor,
        tiers=tiers,
        tiers_from=tiers_from,
        sub_caps=sub_caps,
        commercial_list_required=commercial,
    )


def _code(c: Checker, get: Get, path: str, i: int, codes: dict[str, int]) -> str | None:
    code = c.string(
        get("code"),
        f"{path}.code",
        max_length=40,
        pattern=BUCKET_CODE_PATTERN,
        pattern_hint="只能用小写字母、数字和下划线",
    )
    if code is not None:
        if code in codes:
            c.add(f"{path}.code", f"责任代码“{code}”与 buckets[{codes[code]}] 重复")
        codes.setdefault(code, i)
    return code


def _counts(
    c: Checker, get: Get, path: str, i: int, counted_by: dict[str, int], kinds: tuple[str, ...]
) -> tuple[str, ...] | None:
    counts = c.choices(get("counts"), f"{path}.counts", kinds)
    # One yuan of the member's money is paid by one bucket at most: a bucket may count
    # several amounts (沪惠保's in-patient bucket counts in- and out-of-policy self-pay), but
    # two buckets may not count the same amount.
    for j, amount in enumerate(counts or ()):
        if amount in counted_by:
            c.add(
                f"{path}.counts[{j}]",
                f"“{amount}”已由 buckets[{counted_by[amount]}] 计入，同一费用不能重复赔付",
            )
        else:
            counted_by[amount] = i
    return counts


def _deductibles(c: Checker, get: Get, path: str, bounds: Bounds) -> tuple[int | None, int | None]:
    """deductible_fen and deductible_pre_existing_fen, each within bounds.deductible_max_fen."""
    deductible = c.fen(get("deductible_fen"), f"{path}.deductible_fen")
    deductible_pre = None
    if get("deductible_pre_existing_fen", None) is not None:
        deductible_pre = c.fen(
            get("deductible_pre_existing_fen"), f"{path}.deductible_pre_existing_fen"
        )
    limit = bounds.deductible_max_fen
    for key, value in (
        ("deductible_fen", deductible),
        ("deductible_pre_existing_fen", deductible_pre),
    ):
        if value is not None and limit is not None and value > limit:
            c.add(f"{path}.{key}", f"起付线 {yuan_short(value)} 元 超过上限 {yuan_short(limit)} 元")
    return deductible, deductible_pre


def _renewal(
    c: Checker, get: Get, path: str, deductible: int | None
) -> tuple[int | None, int | None]:
    """renewal_deductible_step_fen and renewal_deductible_floor_fen."""
    step = c.fen(get("renewal_deductible_step_fen", 0), f"{path}.renewal_deductible_step_fen")
    floor = c.fen(get("renewal_deductible_floor_fen", 0), f"{path}.renewal_deductible_floor_fen")
    if floor and deductible is not None and floor > deductible:
        c.add(f"{path}.renewal_deductible_floor_fen", "续保起付线下限不能高于起付线")
    if floor and not step:
        c.add(f"{path}.renewal_deductible_floor_fen", "没有设置续保递减额时不应设置下限")
    return step, floor


def _check_groups(c: Checker, buckets: list[Bucket], items: list[Any]) -> None:
    """Buckets sharing a deductible group share one deductible: the figures must agree."""
    if len(buckets) != len(items):
        return  # already reported; indexes would not line up
    first: dict[str, int] = {}
    for i, bucket in enumerate(buckets):
        if bucket.deductible_group is None:
            continue
        j = first.setdefault(bucket.deductible_group, i)
        other = buckets[j]
        if j != i and (
            (
                bucket.deductible_fen,
                bucket.deductible_pre_existing_fen,
                bucket.renewal_deductible_step_fen,
                bucket.renewal_deductible_floor_fen,
            )
            != (
                other.deductible_fen,
                other.deductible_pre_existing_fen,
                other.renewal_deductible_step_fen,
                other.renewal_deductible_floor_fen,
            )
        ):
            c.add(
                f"buckets[{i}].deductible_group",
                f"与 buckets[{j}] 共用起付线组“{bucket.deductible_group}”，起付线设置必须一致",
            )


def _tiers(
    c: Checker, raw: Any, bucket_path: str, healthy: int | None, pre: int | None
) -> tuple[Tier, ...]:
    tiers: list[Tier] = []
    previous = (0, healthy, pre)
    for i, item in enumerate(c.list_of_tables(raw, f"{bucket_path}.tiers")):
        path = f"{bucket_path}.tiers[{i}]"
        table = c.table(item, path, ("above_fen", "ratio_healthy_bp", "ratio_pre_existing_bp"))
        if table is None:
            continue
        above = c.fen(table.get("above_fen", MISSING), f"{path}.above_fen", positive=True)
        t_healthy = c.ratio(table.get("ratio_healthy_bp", MISSING), f"{path}.ratio_healthy_bp")
        t_pre = c.ratio(
            table.get("ratio_pre_existing_bp", MISSING), f"{path}.ratio_pre_existing_bp"
        )
        if above is not None and above <= previous[0]:
            c.add(f"{path}.above_fen", "分段起点必须严格递增")
        # Shaanxi: higher spend -> higher ratio; a tier never pays less than the one below.
        if t_healthy is not None and previous[1] is not None and t_healthy < previous[1]:
            c.add(f"{path}.ratio_healthy_bp", "分段赔付比例不能低于前一段")
        if t_pre is not None and previous[2] is not None and t_pre < previous[2]:
            c.add(f"{path}.ratio_pre_existing_bp", "分段赔付比例不能低于前一段")
        if t_healthy is not None and t_pre is not None and t_pre > t_healthy:
            c.add(f"{path}.ratio_pre_existing_bp", "既往症人群的赔付比例不能高于健康人群")
        if above is not None and t_healthy is not None and t_pre is not None:
            tiers.append(
                Tier(above_fen=above, ratio_healthy_bp=t_healthy, ratio_pre_existing_bp=t_pre)
            )
        previous = (above if above is not None else previous[0], t_healthy, t_pre)
    return tuple(tiers)


def _sub_caps(c: Checker, raw: Any, bucket_path: str, cap: int | None) -> tuple[SubCap, ...]:
    subs: list[SubCap] = []
    seen: set[str] = set()
    for i, item in enumerate(c.list_of_tables(raw, f"{bucket_path}.sub_caps")):
        path = f"{bucket_path}.sub_caps[{i}]"
        table = c.table(item, path, ("code", "name", "cap_fen", "per"))
        if table is None:
            continue
        code = c.string(
            table.get("code", MISSING),
            f"{path}.code",
            max_length=40,
            pattern=BUCKET_CODE_PATTERN,
            pattern_hint="只能用小写字母、数字和下划线",
        )
        if code is not None and code in seen:
            c.add(f"{path}.code", f"分项限额代码“{code}”重复")
        if code is not None:
            seen.add(code)
        name = c.string(table.get("name", MISSING), f"{path}.name", max_length=100)
        sub_cap = c.fen(table.get("cap_fen", MISSING), f"{path}.cap_fen", positive=True)
        if sub_cap is not None and cap is not None and sub_cap > cap:
            c.add(f"{path}.cap_fen", "分项限额不能高于所属责任的年度封顶线")
        per = table.get("per", MISSING)
        if per is not MISSING and per not in SUB_CAP_PERIODS:
            c.add(f"{path}.per", f"“{per}”不是允许的取值，可选：{'、'.join(SUB_CAP_PERIODS)}")
            per = None
        if (
            code is not None
            and name is not None
            and sub_cap is not None
            and per is not None
            and per is not MISSING
        ):
            subs.append(SubCap(code=code, name=name, cap_fen=sub_cap, per=per))
    return tuple(subs)
