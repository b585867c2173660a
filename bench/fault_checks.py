"""The invariants the fault suite (bench/faults.py) checks after each fault, once reconciliation
has run. Each returns a list of problems (empty: the invariant holds).

- `flask ledger check`: the premium ledger of every order, every programme's budget ledger and
  the claim ledger;
- no half-written order or policy: every order has items; a paid order has exactly one succeeded
  payment and a policy for each item; no policy hangs off an unpaid order; no order is left
  `paying` without a pending payment; nothing paid is left pending;
- money: every debit the bureau made is a succeeded personal-account payment of the same amount,
  and every such payment was debited (once: the bureau is idempotent on the reference); every
  WeChat trade paid at WeChat is a succeeded payment and the other way round;
- budgets and quotas recomputed from the order items: each programme's reserved budget is the
  sum of the subsidies on its open items, its beneficiaries the number of those items.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

from bench.fault_world import World
from tests.smoke.run import ROOT, Smoke

HALF_WRITTEN = {
    "order without items": """
        SELECT o.id FROM orders o
        WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)""",
    "paid order item without a policy": """
        SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE o.status = 'paid'
          AND NOT EXISTS (SELECT 1 FROM policies p WHERE p.order_item_id = i.id)""",
    "policy on an order that is not paid": """
        SELECT p.id FROM policies p JOIN order_items i ON i.id = p.order_item_id
        JOIN orders o ON o.id = i.order_id WHERE o.status <> 'paid'""",
    "paid order without exactly one succeeded payment": """
        SELECT o.id FROM orders o WHERE o.status = 'paid' AND o.total_pay_fen > 0
          AND (SELECT count(*) FROM payments p
               WHERE p.order_id = o.id AND p.status = 'succeeded') <> 1""",
    "succeeded payment on an unpaid order without a refund": """
        SELECT p.id FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE p.status = 'succeeded' AND o.status <> 'paid'
          AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id)""",
    "order paying without a pending payment": """
        SELECT o.id FROM orders o WHERE o.status = 'paying'
          AND NOT EXISTS (SELECT 1 FROM payments p
                          WHERE p.order_id = o.id AND p.status = 'pending')""",
    "personal-account payment still pending after reconciliation": """
        SELECT p.id FROM payments p
        WHERE p.method = 'personal_account' AND p.status = 'pending'""",
}


def _rows(smoke: Smoke, statement: str) -> list[tuple]:
    import psycopg

    url = f"{smoke.pg_admin_url.rsplit('/', 1)[0]}/{smoke.database}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        return list(conn.execute(statement).fetchall())  # type: ignore[arg-type]


def ledger(smoke: Smoke) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "ledger", "check"],
        cwd=ROOT,
        env=smoke.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 0:
        return []
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return [f"ledger check: {line}" for line in lines] or [f"ledger check: {done.stderr[-500:]}"]


def half_written(smoke: Smoke) -> list[str]:
    problems = []
    for label, statement in HALF_WRITTEN.items():
        ids = [row[0] for row in _rows(smoke, statement)]
        if ids:
            problems.append(f"{label}: {ids[:10]}")
    return problems


def money(smoke: Smoke, world: World) -> list[str]:
    payments = {
        ref: (method, status, amount)
        for ref, method, status, amount in _rows(
            smoke, "SELECT reference, method, status, amount_fen FROM payments"
        )
    }
    problems = []
    for ref, fen in world.debits().items():
        method, status, amount = payments.get(ref, (None, None, None))
        if status != "succeeded" or amount != fen:
            problems.append(f"bureau debited {ref} ({fen} fen) but the payment is {status}")
    debited = world.debits()
    for ref, (method, status, _amount) in payments.items():
        if method == "personal_account" and status == "succeeded" and ref not in debited:
            problems.append(f"payment {ref} succeeded without a debit at the bureau")
    paid_at_wechat = {
        ref for ref, trade in world.wechat_pay.trades.items() if trade["state"] == "SUCCESS"
    }
    for ref, (method, status, _amount) in payments.items():
        if method == "wechat" and (status == "succeeded") != (ref in paid_at_wechat):
            problems.append(
                f"WeChat trade {ref}: payment {status}, paid at WeChat: {ref in paid_at_wechat}"
            )
    return problems


def budgets(smoke: Smoke) -> list[str]:
    """Each programme's reserved budget and beneficiaries, recomputed from the open items."""
    reserved: dict[int, int] = defaultdict(int)
    people: dict[int, int] = defaultdict(int)
    for (subsidies,) in _rows(smoke, "SELECT subsidies FROM order_items WHERE open"):
        for s in subsidies or ():
            if s.get("programme_id") is not None:
                reserved[s["programme_id"]] += s["amount_fen"]
                people[s["programme_id"]] += 1
    problems = []
    for pid, cached_fen, cached_people, quota, total in _rows(
        smoke,
        "SELECT id, budget_reserved_fen, beneficiaries_reserved, quota, budget_total_fen "
        "FROM programmes",
    ):
        if cached_fen != reserved[pid] or cached_people != people[pid]:
            problems.append(
                f"programme {pid}: reserved {cached_fen} fen / {cached_people} people, "
                f"open items say {reserved[pid]} / {people[pid]}"
            )
        if cached_fen > total or (quota is not None and cached_people > quota):
            problems.append(f"programme {pid}: over its budget or quota")
    return problems


def check(smoke: Smoke, world: World, fault: str) -> list[str]:
    return ledger(smoke) + half_written(smoke) + money(smoke, world) + budgets(smoke)
