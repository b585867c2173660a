"""[[insurers]]: the co-insurance group (共保体) a product names, with each insurer's share.

Checked like every other section (pure, collecting every problem): each insurer has a code, a
name and a share in basis points above zero; codes are unique; exactly one is the lead; the
shares sum to exactly 10000 (100%). The lead is stored first, the others in the order written.
"""

from __future__ import annotations

import re
from typing import Any

from app.products.checker import MAX_BP, MISSING, Checker, join_path
from app.products.definition import Insurer

INSURER_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_INSURERS = 20


def parse_insurers(c: Checker, raw: Any) -> tuple[Insurer, ...]:
    items = c.list_of_tables(raw, "insurers")
    if raw is MISSING or not items:
        return ()
    if len(items) > MAX_INSURERS:
        c.add("insurers", f"共保体最多 {MAX_INSURERS} 家")
        return ()
    found: list[Insurer] = []
    ok = True
    for i, item in enumerate(items):
        path = join_path("insurers", i)
        table = c.table(item, path, ("code", "name", "share_bp"), ("lead",))
        if table is None:
            ok = False
            continue
        code, name = c.code_and_name(table, path, (40, INSURER_CODE, "小写字母、数字和连字符"))
        share = c.integer(
            table.get("share_bp", MISSING),
            join_path(path, "share_bp"),
            minimum=1,
            maximum=MAX_BP,
            message="份额应在 1 到 10000 基点之间",
        )
        lead = c.boolean(table.get("lead", False), join_path(path, "lead"))
        if code is None or name is None or share is None or lead is None:
            ok = False
            continue
        found.append(Insurer(code=code, name=name, share_bp=share, lead=lead))
    if not ok:
        return ()
    codes = [i.code for i in found]
    for index, code in enumerate(codes):
        if code in codes[:index]:
            c.add(join_path(join_path("insurers", index), "code"), f"“{code}”重复")
            ok = False
    leads = [i for i in found if i.lead]
    if len(leads) != 1:
        c.add("insurers", f"应有且只有一家主承保公司（lead = true），现有 {len(leads)} 家")
        ok = False
    total = sum(i.share_bp for i in found)
    if total != MAX_BP:
        c.add("insurers", f"各家份额之和应为 10000 基点（100%），现为 {total}")
        ok = False
    if not ok:
        return ()
    return (leads[0], *(i for i in found if not i.lead))
