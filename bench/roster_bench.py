"""Benchmark (not a test): a 100,000-row roster end to end on PostgreSQL.

    .venv/bin/python bench/roster_bench.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/huimin_bench \
        --redis-url redis://127.0.0.1:6379/0 [--rows 100000]

What it does, on the database it is given (ALL ITS TABLES ARE DROPPED AND RECREATED):

1. seeds the shipped products, `rows` synthetic residents in the sandbox bureau (valid ID numbers),
   an employer with a full-premium roster-only programme and its admin (not timed);
2. measures a baseline in the same run: a loop of minimal single-row write transactions
   (INSERT + COMMIT) on the same database, i.e. what one row costs at the very least;
3. starts gunicorn (1 worker) and one Celery worker (`celery -A app.jobs.worker worker`,
   concurrency 1, Redis broker) on loopback, then, through HTTP as the employer's admin: uploads
   the roster CSV, starts the enrollment job, and polls its progress until it finishes (timed);
4. checks the outcome (every row enrolled, one policy per person, ledgers consistent) and prints
   rows per second for the upload, the job and the whole, next to the baseline.

`--profile` runs the job in this process instead of the worker, under cProfile, and prints the
top functions (for finding where the time goes; the figures are then not the benchmark's).
The result of a run is recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN, ADMIN_PASSWORD = "bench-employer-admin", "bench-admin-password-2026"
PROGRAMME_BODY = {
    "name": "员工团体保障（基准）",
    "plan_year": 2026,
    "starts_on": "2026-01-01",
    "ends_on": "2026-12-31",
    "rule": {"kind": "full"},
    "eligibility": {"roster_only": True},
}
PREMIUM_FEN = 8900  # ganzhou-demo-2026: flat premium


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/huimin_bench"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-transactions", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=None, help="JOB_BATCH_SIZE")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the job in this process under cProfile (no worker)",
    )
    return parser.parse_args()


# --- synthetic people ---------------------------------------------------------------------------


def synthetic_people(count: int, seed: int = 2026) -> list[tuple[str, str]]:
    """(name, ID number): unique, valid check characters, adults born 1950-1999, in 赣州."""
    from app.demo.residents import CITY_AREAS, GIVEN, SURNAMES
    from app.identity.idnumber import with_check_digit

    rng = random.Random(seed)
    seen: set[str] = set()
    people = []
    while len(people) < count:
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 49 * 365))
        certno = with_check_digit(f"{rng.choice(CITY_AREAS)}{born:%Y%m%d}{rng.randint(0, 999):03d}")
        if certno in seen:
            continue
        seen.add(certno)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        people.append((name, certno))
    return people


def roster_csv(people: list[tuple[str, str]]) -> bytes:
    lines = ["姓名,身份证号,类别"] + [f"{name},{certno}," for name, certno in people]
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- setting up ---------------------------------------------------------------------------------


def environment(args, queue: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HUIMIN_PROFILE="development",
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        CELERY_QUEUE=queue,
        BUREAU_CALLS_PER_SECOND="0",
        LOG_LEVEL="WARNING",
    )
    if args.batch_size:
        env["JOB_BATCH_SIZE"] = str(args.batch_size)
    env.pop("REDIS_URL", None)
    return env


def build_app(env: dict[str, str]):
    for key in (
        "HUIMIN_PROFILE",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CELERY_QUEUE",
        "BUREAU_CALLS_PER_SECOND",
        "JOB_BATCH_SIZE",
        "LOG_LEVEL",
    ):
        if key in env:
            os.environ[key] = env[key]
    from app import create_app

    return create_app()


def seed(app, people: list[tuple[str, str]]) -> int:
    """Fresh schema, products, sandbox residents, an employer, its admin and programme.
    Returns the organisation id."""
    from sqlalchemy import insert, text

    import app.models as _all_models  # noqa: F401  (every table on the metadata)
    from app.auth.services import create_staff_account
    from app.database import Base, get_engine, transaction
    from app.integrations.bureau.sandbox import encrypt_certno
    from app.integrations.bureau.sandbox_models import SandboxResident
    from app.products.services import load_products
    from app.sponsors.models import Organisation
    from app.sponsors.rules import uscc_check_char

    with app.app_context():
        engine = get_engine()
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version, bench_baseline"))
            Base.metadata.create_all(conn)
        load_products()
        rows = []
        for n, (name, certno) in enumerate(people):
            enc, index = encrypt_certno(certno)
            born = date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
            rows.append(
                {
                    "certno_enc": enc,
                    "certno_index": index,
                    "psn_no": f"B{n:011d}",
                    "psn_name": name,
                    "gend": "1" if int(certno[16]) % 2 else "2",
                    "brdy": born,
                    "insutype": "310",
                    "psn_insu_stas": "1",
                    "paus_insu_date": None,
                    "insuplc_admdvs": certno[:6],
                    "balc_fen": 100_000,
                    "idet_types": [],
                }
            )
        with transaction() as session:
            for start in range(0, len(rows), 5000):
                session.execute(insert(SandboxResident), rows[start : start + 5000])
            first17 = "91360700MA35BENCH"
            org = Organisation(
                uscc=first17 + uscc_check_char(first17),
                name="赣州基准科技有限公司",
                kind="employer",
            )
            session.add(org)
            session.flush()
            organisation_id = org.id
        create_staff_account(
            username=ADMIN,
            role="employer_admin",
            password=ADMIN_PASSWORD,
            display_name="基准HR",
            organisation_id=organisation_id,
        )
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return organisation_id


def baseline(app, transactions: int) -> float:
    """Minimal single-row write transactions per second on the same database."""
    from sqlalchemy import text

    from app.database import get_engine

    with app.app_context():
        engine = get_engine()
        with engine.begin() as conn:
            conn.execute(
                text("CREATE TABLE bench_baseline (id serial PRIMARY KEY, v integer NOT NULL)")
            )
        started = time.perf_counter()
        with engine.connect() as conn:
            for n in range(transactions):
                conn.execute(text("INSERT INTO bench_baseline (v) VALUES (:v)"), {"v": n})
                conn.commit()
        elapsed = time.perf_counter() - started
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE bench_baseline"))
    return transactions / elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --- the run ------------------------------------------------------------------------------------


def run_http(base: str, data: bytes, rows: int, profile_app=None) -> dict[str, float]:
    import httpx

    def ok(response):
        if response.is_error:
            response.read()
            raise SystemExit(
                f"{response.request.method} {response.request.url} -> "
                f"{response.status_code} {response.text[:500]}"
            )
        return response

    client = httpx.Client(base_url=base, timeout=600, event_hooks={"response": [ok]})
    token = client.post(
        "/auth/staff/login", json={"username": ADMIN, "password": ADMIN_PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    programme = client.post("/staff/programmes", headers=headers, json=PROGRAMME_BODY).json()
    client.post(
        f"/staff/programmes/{programme['id']}/top-ups",
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"amount_fen": PREMIUM_FEN * rows},
    )
    # The terms of the product the programme funds (its plan year's), not of the one on sale
    # first: in December next year's product is on sale beside this year's.
    terms = next(
        p["terms_version"]
        for p in client.get("/products").json()
        if p["plan_year"] == PROGRAMME_BODY["plan_year"] and p["status"] == "published"
    )

    started = time.perf_counter()
    upload = client.post(
        f"/staff/programmes/{programme['id']}/roster/uploads",
        headers=headers,
        files={"file": ("roster.csv", data, "text/csv")},
    ).json()
    uploaded = time.perf_counter()
    assert upload["added"] == rows, upload
    if profile_app is not None:
        job = profile_job(profile_app, programme["id"], terms)
    else:
        job = client.post(
            f"/staff/programmes/{programme['id']}/enrollment-jobs",
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            json={"terms": {"version": terms, "accepted": True}},
        ).json()
        last = None
        while job["status"] in ("queued", "running"):
            time.sleep(0.25)
            job = client.get(
                f"/staff/programmes/{programme['id']}/enrollment-jobs/{job['id']}", headers=headers
            ).json()
            if job["percent"] != last and job["status"] == "running":
                last = job["percent"]
                print(
                    f"  job {job['percent']:5.1f}%  done {job['done']:>6}  failed {job['failed']:>4}"
                    f"  eta {job['eta_seconds']} s",
                    flush=True,
                )
    finished = time.perf_counter()
    assert job["status"] == "succeeded" and job["done"] == rows, job
    return {
        "upload_s": uploaded - started,
        "job_s": finished - uploaded,
        "total_s": finished - started,
        "programme_id": programme["id"],
    }


def profile_job(app, programme_id: int, terms: str) -> dict:
    """Start and run the job in this process under cProfile (eager)."""
    from app.auth.principal import Principal
    from app.jobs import services

    app.config["CELERY_BROKER_URL"] = None
    app.extensions.pop("celery", None)
    with app.app_context():
        from sqlalchemy import select

        from app.auth.models import StaffAccount
        from app.database import get_session

        account = get_session().scalar(select(StaffAccount).where(StaffAccount.username == ADMIN))
        actor = Principal(
            kind="staff", id=account.id, role=account.role, organisation_id=account.organisation_id
        )
        profiler = cProfile.Profile()
        profiler.enable()
        job = services.start_roster_enrollment(
            actor, programme_id, terms_version=terms, terms_accepted=True
        )
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
        return {"status": job.status, "done": job.done}


def check(app, rows: int, programme_id: int) -> None:
    from sqlalchemy import func, select

    from app.database import get_session
    from app.payments.ledger import check_ledger
    from app.policies.models import Policy
    from app.sponsors.services import check_programmes

    with app.app_context():
        session = get_session()
        policies = session.scalar(select(func.count()).select_from(Policy))
        people = session.scalar(select(func.count(func.distinct(Policy.person_id))))
        assert policies == people == rows, (policies, people, rows)
        problems = check_ledger() + check_programmes([programme_id])
        assert not problems, problems[:5]


def main() -> None:
    args = parse_args()
    queue = f"huimin-bench-{uuid.uuid4().hex[:8]}"
    env = environment(args, queue)
    app = build_app(env)
    print(f"seeding {args.rows} residents ...", flush=True)
    people = synthetic_people(args.rows)
    seed(app, people)
    data = roster_csv(people)
    print(f"baseline: {args.baseline_transactions} single-row write transactions ...", flush=True)
    base_tps = baseline(app, args.baseline_transactions)

    port = free_port()
    processes = [
        start(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "600",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            env,
        )
    ]
    if not args.profile:
        processes.append(
            start(
                [
                    str(ROOT / ".venv/bin/celery"),
                    "-A",
                    "app.jobs.worker",
                    "worker",
                    "--pool",
                    "solo",
                    "--concurrency",
                    "1",
                    "-Q",
                    queue,
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                env,
            )
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/products")
        time.sleep(2 if not args.profile else 0)  # the worker connects to the broker
        print(f"running: upload {len(data) / 1e6:.1f} MB roster, enrollment job ...", flush=True)
        figures = run_http(
            f"http://127.0.0.1:{port}", data, args.rows, profile_app=app if args.profile else None
        )
    finally:
        for process in processes:
            stop(process)
    check(app, args.rows, figures["programme_id"])
    rows = args.rows
    print()
    print(f"rows                          {rows}")
    print(f"baseline (1-row write txn/s)  {base_tps:10.0f}")
    print(
        f"upload                        {figures['upload_s']:8.1f} s  {rows / figures['upload_s']:10.0f} rows/s"
    )
    print(
        f"enrollment job                {figures['job_s']:8.1f} s  {rows / figures['job_s']:10.0f} rows/s"
    )
    print(
        f"end to end                    {figures['total_s']:8.1f} s  {rows / figures['total_s']:10.0f} rows/s"
        f"  ({rows / figures['total_s'] / base_tps:.2f} x baseline)"
    )
    print(f"bar: {rows} rows in <= 60 s -> {'met' if figures['total_s'] <= 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
