"""Benchmark (not a test): 一站式 trial and confirm at 64 in flight against the write floor.

    bench/run --only direct_settlement [--repeat 1] [--duration 8]
    (or: .venv/bin/python bench/direct_settlement_bench.py [--repeat 1] ...: the same)

A scenario of bench/runner.py: the project under gunicorn with the project's gunicorn.conf.py
on PostgreSQL (bench_project), the write floor (bench/floor_app.py) beside it, both measured with
the raw-socket client (bench/client.py) in the same run. Per repetition:

1. (not timed) `people` fresh bench residents are verified and insured for 2026 through the real
   services (order and personal-account payment on a clock set back to the 2026 window, as the
   demo family is), the sandbox bureau records one in-patient stay for each at one of the
   sandbox hospitals, and those hospitals are registered with the sandbox key;
2. trial: signed trial requests over those stays for `duration` seconds from 64 connections
   (each request signed before the clock starts, so the client's SM2 signing is not timed; the
   server verifies every signature);
3. confirm: one trial per stay confirmed, 64 in flight, every stay but the last OPEN_CONFIRMS
   once (distinct people, as at 64 hospital counters); then each cancelled (informational).
   The first WARM_STAYS (64) of each are the phase's warm-up, not recorded, as the trials'
   first 64 are;
4. open loop (informational): rate x `duration` trials arriving independently at each of
   OPEN_TRIAL_RATES a second (Poisson arrivals, client.open_loop; each latency from its
   arrival, so a backlog counts) over the last OPEN_CONFIRMS stays (kept out of step 3); then
   those stays confirmed, arriving at OPEN_CONFIRM_RATE a second. A counter does not wait for
   63 others: this is the answer time at a given load, beside the saturated closed loop of
   steps 2 and 3.

Figures: trial p99 and confirm p99 against the write floor's p99 at 64 (target <= 2x); the open
loop's p50 / p99 at each rate.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.client import Connection, open_loop

WARM_STAYS = 64  # stays confirmed and cancelled first, unrecorded (see measure)
OPEN_TRIAL_RATES = (25, 50, 100)  # trials a second, open loop (step 4)
OPEN_CONFIRM_RATE = 20  # confirmations a second, open loop
OPEN_CONFIRMS = 120  # stays confirmed in the open loop only (bench/runner.py seeds them too)
STAY_FEN = 20_000_000  # 200,000 yuan in-patient: past the deductible, under auto-approval
BASE = "/direct-settlement/v1"


def insure_and_hospitalise(app, members, consent_version: str) -> list[dict]:
    """Each member verified and insured for 2026 (self), with one stay the sandbox bureau
    holds; the stays' hospitals registered with the sandbox key. The stays, as the hospital
    sends them (setlinfo, feedetail)."""
    from app.common.clock import backdated
    from app.database import read_scope
    from app.demo.catalogues import seed_catalogues
    from app.demo.family import ENROLLED_AT
    from app.direct_settlement.ledger import register_sandbox_hospital
    from app.direct_settlement.sandbox_hospital import plain
    from app.enrollment.services import Selection, create_order
    from app.integrations.bureau.sandbox_demo_data import HOSPITALS
    from app.integrations.bureau.sandbox_settlements import add_settlement
    from app.integrations.registry import bureau
    from app.members.models import Person
    from app.members.services import ConsentInput, verify_self
    from app.payments.services import start_payment
    from app.products.services import current_terms, get_product

    stays = []
    with app.app_context():
        seed_catalogues()  # the demo 商保目录 the itemised lines are matched against (once)
        product = get_product("ganzhou-demo-2026")
        terms = current_terms(product).version
        for code, name in HOSPITALS:
            register_sandbox_hospital(code, name)
        for n, m in enumerate(members):
            member = verify_self(m.id, m.name, m.certno, ConsentInput(True, consent_version))
            with backdated(ENROLLED_AT):
                order = create_order(
                    m.id,
                    product_code=product.code,
                    selection=Selection(include_self=True, relative_ids=()),
                    payment_method="personal_account",
                    terms_version=terms,
                    terms_accepted=True,
                )
                start_payment(m.id, order.id, "personal_account")
            with read_scope() as s:
                psn_no = s.get(Person, member.person_id).psn_no
            record = add_settlement(psn_no, STAY_FEN, hospital=n % len(HOSPITALS))
            lines = bureau().fee_details(psn_no, record.setl_id, settlement=record) or []
            stays.append({"setlinfo": plain(record), "feedetail": [plain(x) for x in lines]})
    return stays


def signer_for(app):
    """sign(stay, path, payload) -> (path, headers, body), signed as the stay's hospital."""
    from app.direct_settlement.sandbox_hospital import SandboxHospital
    from app.integrations.signer import sandbox_keys as k
    from app.integrations.signer.sm2 import Sm2Signer

    signer = Sm2Signer()

    def sign(stay: dict, path: str, payload: dict) -> tuple[str, dict, bytes]:
        code = stay["setlinfo"]["fixmedins_code"]
        hospital = SandboxHospital(signer, k.sandbox_key_id(code), k.SANDBOX_PRIVATE_KEY, None)  # type: ignore[arg-type]
        body = json.dumps(payload, ensure_ascii=False).encode()
        return path, hospital.headers("POST", path, body), body

    return sign


def post_job(request: tuple[str, dict, bytes], label: str, out: dict | None = None, key=None):
    path, headers, body = request

    async def job(conn: Connection) -> None:
        resp = await conn.request("POST", path, headers=headers, body=body, label=label)
        if out is not None:
            out[key] = resp.json()

    return job


def measure(
    app,
    port: int,
    members,
    duration: float,
    consent_version: str,
    load,
    concurrency: int = 64,
    cpu=None,
) -> dict:
    """Run the scenario against the project on `port`; `load(port, concurrency, jobs,
    duration)` is runner.load. The RunResults of trial, confirm and cancel, the open loop's
    (name, rate, RunResult) in `open`, the stays, the CPU seconds each phase used by part
    (`cpu()` -> {part: seconds so far}, runner.cpu_split; the open loop's under "NAME at
    RATE/s") and how many unrecorded warm-up requests each closed-loop phase's CPU includes."""
    used: dict[str, dict[str, float]] = {}

    warmed: dict[str, int] = {}

    def metered(key: str, run):
        """run(), the CPU it used by part kept under `key`."""
        before = cpu() if cpu else {}
        result = run()
        after = cpu() if cpu else {}
        used[key] = {k: after[k] - before[k] for k in before}
        return result

    def timed(name: str, port, concurrency, jobs, duration, warm):
        warmed[name] = len(warm)  # their CPU is in `used` too
        return metered(name, lambda: load(port, concurrency, jobs, duration, warm))

    stays = insure_and_hospitalise(app, members, consent_version)
    sign = signer_for(app)
    # Enough signed trials for `duration` at a few hundred a second; the first pass over the
    # stays keeps each stay's trial number for the confirmations.
    count = max(len(stays), int(duration * 250))
    trials = [
        sign(stays[i % len(stays)], BASE + "/trial", stays[i % len(stays)]) for i in range(count)
    ]
    firsts: dict[int, dict] = {}
    jobs = (
        post_job(req, "trial", firsts if i < len(stays) else None, i)
        for i, req in enumerate(trials)
    )
    warm = [post_job(sign(stay, BASE + "/trial", stay), "warm") for stay in stays[:concurrency]]
    trial = timed("trial", port, concurrency, jobs, duration, warm)
    numbers = ["BENCH" + secrets.token_hex(6).upper() for _ in stays]
    trialled = [i for i in range(len(stays)) if i in firsts]
    split = len(trialled) - OPEN_CONFIRMS
    if split <= WARM_STAYS or OPEN_CONFIRMS < 1:
        raise SystemExit(
            f"{len(trialled)} stays trialled: {WARM_STAYS + OPEN_CONFIRMS + 1} at least are "
            "needed (warm-up, one confirmation recorded at 64, the open loop's)"
        )
    at_64, arriving_ids = trialled[:split], trialled[split:]

    def confirmation(i: int):
        payload = {"trial_no": firsts[i]["trial_no"], "setl_sn": numbers[i]}
        return sign(stays[i], BASE + "/confirm", payload)

    confirms = [confirmation(i) for i in at_64]

    def each_once(name: str, requests: list):
        """Every request once at `concurrency` in flight; the first WARM_STAYS warm the workers
        up, unrecorded, as the trials' and the floor's first 64 do (each worker compiles and
        prepares a phase's statements on its first requests)."""
        jobs = (post_job(req, name) for req in requests[WARM_STAYS:])
        warm = [post_job(req, "warm") for req in requests[:WARM_STAYS]]
        return timed(name, port, concurrency, jobs, None, warm)

    confirm = each_once("confirm", confirms)
    cancels = [sign(stays[i], BASE + "/cancel", {"setl_sn": numbers[i]}) for i in at_64]
    cancel = each_once("cancel", cancels)

    def arriving(name: str, rate: float, requests: list):
        """The requests at `rate` a second, open loop (signed before the clock starts)."""
        jobs = [post_job(req, name) for req in requests]
        run = open_loop(
            "127.0.0.1", port, rate=rate, jobs=jobs, label=name, max_connections=concurrency
        )
        return name, rate, metered(f"{name} at {rate}/s", lambda: asyncio.run(run))

    opened = []
    for rate in OPEN_TRIAL_RATES:  # over the stays not confirmed yet (a settled one is refused)
        pick = [stays[arriving_ids[n % len(arriving_ids)]] for n in range(int(rate * duration))]
        opened.append(arriving("trial", rate, [sign(st, BASE + "/trial", st) for st in pick]))
    late = [confirmation(i) for i in arriving_ids]  # signed now: the window runs from it
    opened.append(arriving("confirm", OPEN_CONFIRM_RATE, late))
    return {
        "trial": trial,
        "confirm": confirm,
        "cancel": cancel,
        "open": opened,
        "stays": len(stays),
        "cpu": used,
        "warm": warmed,
    }


def main() -> None:
    from bench import runner

    args = sys.argv[1:]
    if "--only" not in args:
        args += ["--only", "direct_settlement"]
    if "--repeat" not in args:
        args += ["--repeat", "1"]
    sys.argv = [sys.argv[0], *args]
    runner.main()


if __name__ == "__main__":
    main()
