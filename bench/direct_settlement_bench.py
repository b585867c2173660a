"""Benchmark (not a test): trial and confirm latency of the hospitals' API at 64 concurrent.

    HUIMIN_PROFILE=development DATABASE_URL=... .venv/bin/python bench/direct_settlement_bench.py \\
        --url http://127.0.0.1:5000 [--concurrency 64] [--trials 640]

Against a RUNNING service seeded with `flask demo seed` (the same database, given here too):

1. finds the stays of insured people the sandbox bureau holds that no claim covers yet, and
   registers their hospitals with the sandbox key (not timed);
2. trial: `--trials` signed trial requests, spread over those stays, sent by `--concurrency`
   threads over keep-alive connections (each request signed beforehand, so the client's SM2
   signing is not in the latency);
3. confirm: one trial per free stay, then all confirmations at once (as many in flight as there
   are stays, at most `--concurrency`), then each cancelled again (the database ends as it began,
   apart from the trial, nonce and reconciliation rows).

Prints p50/p95/p99 (ms) and requests per second per phase. Figures: docs/performance.md.
If `bench/client.py` (branch speed's raw-socket client) is present, compare its write floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import threading
import time
from urllib.parse import urlparse


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def free_stays() -> list[dict]:
    """The unclaimed, claimable stays of people with a policy, as the hospital holds them."""
    from sqlalchemy import select

    from app.database import read_scope
    from app.direct_settlement.ledger import register_institution
    from app.direct_settlement.sandbox_hospital import plain
    from app.identity.models import Person
    from app.integrations.registry import bureau
    from app.integrations.signer import sandbox_keys as k
    from app.policies.models import Policy

    with read_scope() as s:
        people = s.execute(
            select(Person.id, Person.psn_no, Policy.coverage_start, Policy.coverage_end)
            .join(Policy, Policy.person_id == Person.id)
            .where(Person.psn_no.is_not(None), Policy.status == "active")
        ).all()
        from app.claims.models import Claim

        taken = set(s.scalars(select(Claim.setl_id).where(Claim.status != "rejected")))
    stays = []
    for _, psn_no, start, end in people:
        for record in bureau().settlement_records(psn_no, start, end):
            if not record.claimable or record.setl_id in taken or record.begndate < start:
                continue
            lines = bureau().fee_details(psn_no, record.setl_id, settlement=record) or []
            stays.append({"setlinfo": plain(record), "feedetail": [plain(x) for x in lines]})
    for code in {s["setlinfo"]["fixmedins_code"] for s in stays}:
        register_institution(
            code=code,
            name="压测医院",
            key_id=k.sandbox_key_id(code),
            public_key=k.SANDBOX_PUBLIC_KEY,
            payee_name="压测医院",
            payee_bank_name="中国银行赣州分行",
            payee_account="6222000011115678",
        )
    return stays


def run(url: str, requests: list[tuple[str, str, dict, bytes]], concurrency: int):
    """Send pre-signed requests from `concurrency` threads; (latencies ms, statuses, bodies)."""
    target = urlparse(url)
    latencies: list[float] = []
    results: list[tuple[int, bytes]] = [(0, b"")] * len(requests)
    lock = threading.Lock()
    queue = list(enumerate(requests))

    def worker():
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                index, (method, path, headers, body) = queue.pop()
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                results[index] = (resp.status, data)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, results, time.perf_counter() - began


def report(name: str, latencies: list[float], seconds: float, results) -> None:
    codes: dict[int, int] = {}
    for status, _ in results:
        codes[status] = codes.get(status, 0) + 1
    print(
        f"{name}: n={len(latencies)} p50={percentile(latencies, 50):.0f}ms "
        f"p95={percentile(latencies, 95):.0f}ms p99={percentile(latencies, 99):.0f}ms "
        f"{len(latencies) / seconds:.1f} req/s statuses={codes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--trials", type=int, default=640)
    args = parser.parse_args()

    from app import create_app
    from app.direct_settlement.sandbox_hospital import BASE, SandboxHospital
    from app.integrations.registry import signer
    from app.integrations.signer import sandbox_keys as k

    app = create_app()
    with app.app_context():
        stays = free_stays()
        if not stays:
            raise SystemExit("no free stay: run `flask demo seed` on a fresh database")

        def signed(stay: dict, path: str, payload: dict) -> tuple[str, str, dict, bytes]:
            code = stay["setlinfo"]["fixmedins_code"]
            hospital = SandboxHospital(
                signer(), k.sandbox_key_id(code), k.SANDBOX_PRIVATE_KEY, None
            )  # type: ignore[arg-type]
            body = json.dumps(payload, ensure_ascii=False).encode()
            return "POST", path, hospital.headers("POST", path, body), body

        trials = [
            signed(stays[i % len(stays)], BASE + "/trial", stays[i % len(stays)])
            for i in range(args.trials)
        ]
        latencies, results, seconds = run(args.url, trials, args.concurrency)
        report(f"trial x{args.concurrency}", latencies, seconds, results)

        firsts = [json.loads(results[i][1]) for i in range(len(stays))]
        numbers = ["BENCH" + secrets.token_hex(6).upper() for _ in stays]
        confirms = [
            signed(stay, BASE + "/confirm", {"trial_no": t["trial_no"], "setl_sn": sn})
            for stay, t, sn in zip(stays, firsts, numbers)
            if "trial_no" in t
        ]
        width = min(args.concurrency, len(confirms))
        latencies, results, seconds = run(args.url, confirms, width)
        report(f"confirm x{width}", latencies, seconds, results)
        cancels = [
            signed(stay, BASE + "/cancel", {"setl_sn": sn}) for stay, sn in zip(stays, numbers)
        ]
        latencies, results, seconds = run(args.url, cancels, width)
        report(f"cancel x{width}", latencies, seconds, results)


if __name__ == "__main__":
    main()
