"""The speed benchmarks of issue 13 in one run, each figure beside its floor from the same run.

    bench/run [--repeat 3] [--duration 10] [--pg postgresql+psycopg://postgres@127.0.0.1:5432]

What it does (THE DATABASES bench_project AND bench_floor, or --db-prefix's, ARE DROPPED):
1. creates the two databases; seeds the project's (products, sandbox residents, members with
   tokens, the public-statistics counters as 1M policies and 200k claims would leave them) and
   the floor's (bench/floor_app.py);
2. starts gunicorn with the project's gunicorn.conf.py for each (bench/project_wsgi.py,
   bench/floor_app.py), on loopback ports of their own;
3. runs, with the raw-socket client (bench/client.py), each scenario against the project and
   its floor: enrollment flow (quote -> order -> personal-account payment -> policies) at 16 and
   64 in flight against the write floor; verify + quote p99 at 64 and the WeChat Pay
   notification's first delivery p99 at 64 against the write floor's p99 at 64;
   /public/statistics p95 (200 and 304) against a read floor of the same body size; then the
   pure adjudication engine (bench/adjudication_bench.py) against a minimal loop; 一站式 trial
   and confirm p99 at 64 against the write floor's, and their answer times arriving at a few
   rates, open loop (bench/direct_settlement_bench.py); a worker's
   boot CPU against the floor app's, and the workers' RSS after the load; and samples
   pg_stat_activity during the 64-in-flight enrollment run for lock waits;
4. prints one table per repetition (figure / project / floor / ratio / target) and the load
   average.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Config  # noqa: E402
from bench.client import Connection, closed_loop  # noqa: E402

PY = Path(sys.executable)
DIRECT_SETTLEMENT_PEOPLE = 256 + 64 + 120  # insured people with one stay each, per repetition:
# 256 confirmations recorded after 64 of warm-up (bench/direct_settlement_bench.py WARM_STAYS),
# and 120 confirmed in the open loop (OPEN_CONFIRMS)
GUNICORN = PY.parent / "gunicorn"
# The personal-information consent text in force (the service runs with the default).
CONSENT = {"accepted": True, "text_version": Config.PI_CONSENT_TEXT_VERSION}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", ""),
        help="a Redis database of the run's own: it is emptied at the start",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per load scenario")
    parser.add_argument("--members", type=int, default=0, help="default: enough for the runs")
    parser.add_argument("--only", default="", help="comma list of scenario names to run")
    parser.add_argument(
        "--db-prefix",
        default="bench",
        help="the databases PREFIX_project and PREFIX_floor (dropped and made again)",
    )
    return parser.parse_args()


# --- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(module: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    env = {**env, "BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "warning"}
    return subprocess.Popen(
        [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), module],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_http(port: int, path: str, timeout: float = 90) -> None:
    async def probe() -> None:
        conn = Connection("127.0.0.1", port)
        try:
            await conn.request("GET", path, expect=range(100, 600))
        finally:
            await conn.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            asyncio.run(probe())
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"port {port} did not answer within {timeout} s")


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(x) for x in out.split()]


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU a process has used so far (/proc/PID/stat); with `reaped`, that of its
    children it has waited for too (a recycled gunicorn worker, an exited PostgreSQL backend)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_split(master: int) -> dict[str, float]:
    """CPU seconds used so far by the project's workers, by every PostgreSQL process and by
    this process (the client): subtract two of these to see where a phase's CPU went. A worker
    recycled (max_requests) or a backend that exited between the two still counts: its CPU is
    in its parent's reaped children's (the gunicorn master's, the postmaster's)."""
    postgres = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    total = 0.0
    for pid in postgres.split():
        try:
            total += cpu_seconds(int(pid), reaped=True)
        except OSError:  # a backend that exited meanwhile
            continue
    fields = Path(f"/proc/{master}/stat").read_text().rsplit(")", 1)[1].split()
    workers = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # reaped workers
    for pid in worker_pids(master):
        try:
            workers += cpu_seconds(pid)
        except OSError:  # exited between the listing and the reading
            continue
    return {"workers": workers, "postgres": total, "client": time.process_time()}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- databases ------------------------------------------------------------------------------------


def recreate_database(pg: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"{pg}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{pg}/{name}"


@dataclass
class Member:
    id: int
    name: str
    certno: str
    token: str = ""


def project_env(database_url: str, redis_url: str) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    env = dict(os.environ)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = Path("/tmp") / f"huimin-bench-wechatpay-{os.getpid()}.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env["BENCH_WECHATPAY_SANDBOX_KEY"] = str(path)
    env.update(HUIMIN_PROFILE="development", DATABASE_URL=database_url, LOG_LEVEL="warning")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    return env


def project_app(env: dict[str, str]):
    for key in (
        "HUIMIN_PROFILE",
        "DATABASE_URL",
        "REDIS_URL",
        "LOG_LEVEL",
        "BENCH_WECHATPAY_SANDBOX_KEY",
    ):
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    from bench.project_wsgi import build

    return build()


def seed_project(app, count: int) -> list[Member]:
    """Schema, products, `count` sandbox residents and a member account for each."""
    from sqlalchemy import insert, select, text

    import app.models as _all_models  # noqa: F401
    from app.database import Base, get_engine, transaction, utcnow
    from app.integrations.bureau.sandbox import encrypt_certno
    from app.integrations.bureau.sandbox_models import SandboxResident
    from app.members.models import Member as MemberRow
    from app.products.services import load_products
    from bench.roster_bench import synthetic_people

    people = synthetic_people(count, seed=1313)
    with app.app_context():
        engine = get_engine()
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            Base.metadata.create_all(conn)
        load_products()
        residents = []
        for n, (name, certno) in enumerate(people):
            enc, index = encrypt_certno(certno)
            residents.append(
                {
                    "certno_enc": enc,
                    "certno_index": index,
                    "psn_no": f"S{n:011d}",
                    "psn_name": name,
                    "gend": "1" if int(certno[16]) % 2 else "2",
                    "brdy": date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14])),
                    "insutype": "310",
                    "psn_insu_stas": "1",
                    "paus_insu_date": None,
                    "insuplc_admdvs": certno[:6],
                    "balc_fen": 1_000_000,
                    "idet_types": [],
                }
            )
        now = utcnow()
        with transaction() as session:
            session.execute(insert(SandboxResident), residents)
            session.execute(
                insert(MemberRow),
                [{"openid": f"bench_{n:08d}", "last_login_at": now} for n in range(count)],
            )
            ids = list(session.scalars(select(MemberRow.id).order_by(MemberRow.openid)))
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return [Member(i, name, certno) for i, (name, certno) in zip(ids, people, strict=True)]


def issue_tokens(app, members: list[Member]) -> None:
    """A login's token pair for each member (a member's access token names its session)."""
    from app.auth.services import issue_tokens as issue
    from app.database import transaction

    with app.app_context(), transaction() as session:
        for m in members:
            m.token = issue(session, "member", m.id)[0].access_token


def verify_in_process(app, members: list[Member]) -> None:
    """Members verified as the API would leave them (person, consent, member.person_id)."""
    from app.members import services

    with app.app_context():
        for m in members:
            consent = services.ConsentInput(True, CONSENT["text_version"])
            services.verify_self(m.id, m.name, m.certno, consent)


def fold(app) -> int:
    """What the periodic `flask disclosure fold-counters` does."""
    from app.database import transaction
    from app.disclosure.aggregates import fold_counters

    with app.app_context(), transaction() as session:
        return fold_counters(session)


def seed_statistics(app) -> None:
    """Counters as a year of 1M policies and 200k claims would leave them, for each product."""
    from sqlalchemy import select

    from app.database import transaction
    from app.disclosure import aggregates as agg
    from app.disclosure import metrics as m
    from app.products.models import Product

    rng = random.Random(13)
    with app.app_context():
        with transaction() as session:
            products = list(session.execute(select(Product.id, Product.plan_year)))
            for product_id, year in products:
                for month in range(1, 13):
                    on = date(year, month, 1)
                    people = 1_000_000 // 12
                    claims = 200_000 // 12

                    def bump(metric, dimension="", amount=1, on=on, pid=product_id, y=year):
                        agg.bump(
                            session,
                            product_id=pid,
                            plan_year=y,
                            on=on,
                            metric=metric,
                            dimension=dimension,
                            amount=amount,
                        )

                    for it, share in zip(m.INSURANCE_TYPES, (70, 28, 2), strict=False):
                        bump(m.ENROLLED_BY_INSURANCE_TYPE, it, people * share // 100)
                    for fs, share in zip(m.FUNDING_SOURCES, (60, 30, 5, 3, 1, 1), strict=False):
                        bump(m.ENROLLED_BY_FUNDING_SOURCE, fs, people * share // 100)
                    bump(m.POLICIES_ISSUED, amount=people)
                    for fs in m.FUNDING_SOURCES:
                        bump(m.PREMIUMS_COLLECTED_FEN, fs, people * 1000)
                    bump(m.REFUNDS, "wechat", 120)
                    bump(m.PREMIUMS_REFUNDED_FEN, "wechat", 120 * 8900)
                    bump(m.CLAIMS_RECEIVED, amount=claims)
                    bump(m.CLAIMS_SETTLED, amount=claims - 50)
                    bump(m.CLAIMS_SETTLED_PAYABLE_FEN, amount=claims * 250_000)
                    bump(m.CLAIMS_PAID, amount=claims - 80)
                    bump(m.CLAIMS_PAID_FEN, amount=claims * 240_000)
                    agg.bump_max(
                        session,
                        product_id=product_id,
                        plan_year=year,
                        on=on,
                        metric=m.LARGEST_CLAIM_PAID_FEN,
                        amount=rng.randint(10_000_000, 40_000_000),
                    )


# --- scenarios ------------------------------------------------------------------------------------


def auth(member: Member, key: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {member.token}"}
    if key:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return headers


def enrollment_job(member: Member, terms: str):
    async def job(conn: Connection) -> None:
        await conn.request("POST", "/quotes", headers=auth(member), json_body={}, label="quote")
        order = await conn.request(
            "POST",
            "/orders",
            headers=auth(member, key=True),
            json_body={
                "payment_method": "personal_account",
                "terms": {"version": terms, "accepted": True},
            },
            label="order",
        )
        paid = await conn.request(
            "POST",
            f"/orders/{order.json()['id']}/payments",
            headers=auth(member, key=True),
            json_body={"method": "personal_account"},
            label="payment",
        )
        if paid.json()["state"] != "paid":
            raise RuntimeError(f"payment {paid.json()['state']}")
        policies = await conn.request("GET", "/policies", headers=auth(member), label="policies")
        if not policies.json():
            raise RuntimeError("no policy after payment")

    return job


def verify_quote_job(member: Member):
    async def job(conn: Connection) -> None:
        await conn.request(
            "POST",
            "/me/identity",
            headers=auth(member),
            json_body={"name": member.name, "id_number": member.certno, "consent": CONSENT},
            label="verify",
        )
        await conn.request("POST", "/quotes", headers=auth(member), json_body={}, label="quote")

    return job


def wechat_order_job(member: Member, terms: str, out: list[int]):
    async def job(conn: Connection) -> None:
        order = await conn.request(
            "POST",
            "/orders",
            headers=auth(member, key=True),
            json_body={"payment_method": "wechat", "terms": {"version": terms, "accepted": True}},
        )
        await conn.request(
            "POST",
            f"/orders/{order.json()['id']}/payments",
            headers=auth(member, key=True),
            json_body={"method": "wechat"},
        )
        out.append(order.json()["id"])

    return job


def notifications_for(app, order_ids: list[int]) -> list[tuple[dict, bytes]]:
    from sqlalchemy import select

    from app.database import read_scope
    from app.enrollment.models import Payment
    from app.integrations import registry

    with app.app_context():
        with read_scope() as session:
            refs = list(
                session.scalars(
                    select(Payment.reference).where(
                        Payment.order_id.in_(order_ids), Payment.method == "wechat"
                    )
                )
            )
        sandbox = registry.wechat_pay()
        return [sandbox.simulate_payment(ref) for ref in refs]


def notify_job(headers: dict, body: bytes):
    async def job(conn: Connection) -> None:
        await conn.request(
            "POST",
            "/payments/wechat/notify",
            headers=headers,
            body=body,
            label="notify",
            expect=(200, 204),
        )

    return job


def get_job(path: str, headers: dict | None = None, expect=(200,), label: str | None = None):
    async def job(conn: Connection) -> None:
        await conn.request("GET", path, headers=headers, expect=expect, label=label)

    return job


def write_job(conn_label: str = "write"):
    async def job(conn: Connection) -> None:
        await conn.request("POST", "/write", json_body={"amount": 8900}, label=conn_label)

    return job


def load(port: int, concurrency: int, jobs, duration: float | None, warmup=()):
    return asyncio.run(
        closed_loop(
            "127.0.0.1",
            port,
            concurrency=concurrency,
            jobs=jobs,
            duration=duration,
            warmup=warmup,
        )
    )


def _statement_target(query: str) -> str:
    """'UPDATE orders', 'INSERT INTO disclosure_counters' ...: what a waiting statement does."""
    import re

    found = re.search(r"\b(INSERT INTO|UPDATE|DELETE FROM|FROM)\s+(\w+)", query, re.IGNORECASE)
    if not found:
        return query[:40]
    verb = found.group(1).upper()
    if verb == "FROM" and "FOR UPDATE" in query.upper():
        verb = "SELECT ... FOR UPDATE FROM"
    return f"{verb} {found.group(2)}"


class LockSampler(threading.Thread):
    """Samples pg_stat_activity of one database every 50 ms: active backends, and those waiting
    on a lock (by relation when pg_locks names one)."""

    def __init__(self, pg: str, database: str) -> None:
        super().__init__(daemon=True)
        from sqlalchemy import create_engine

        self.engine = create_engine(f"{pg}/{database}", isolation_level="AUTOCOMMIT")
        self.database = database
        self.samples = 0
        self.active = 0
        self.lock_waits = 0
        self.by_relation: dict[str, int] = {}
        self.running = True

    def run(self) -> None:
        from sqlalchemy import text

        query = text(
            r"""
            SELECT a.state, a.wait_event_type,
                   (SELECT l.locktype FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted
                     LIMIT 1) AS locktype,
                   regexp_replace(left(a.query, 400), '\s+', ' ', 'g') AS query
              FROM pg_stat_activity a
             WHERE a.datname = :db AND a.pid <> pg_backend_pid()
            """
        )
        with self.engine.connect() as conn:
            while self.running:
                rows = conn.execute(query, {"db": self.database}).all()
                self.samples += 1
                for state, wait_type, locktype, statement in rows:
                    if state == "active":
                        self.active += 1
                    if wait_type == "Lock":
                        self.lock_waits += 1
                        name = f"{locktype}: {_statement_target(statement or '')}"
                        self.by_relation[name] = self.by_relation.get(name, 0) + 1
                time.sleep(0.05)
        self.engine.dispose()

    def stop(self) -> dict:
        self.running = False
        self.join()
        n = max(self.samples, 1)
        return {
            "active": self.active / n,
            "lock_waits": self.lock_waits / n,
            "by_relation": {k: round(v / n, 3) for k, v in self.by_relation.items()},
        }


def boot_cpu(module: str, env: dict[str, str]) -> float:
    """CPU seconds (user + system) of a fresh interpreter importing `module` (what a gunicorn
    worker does after fork with preload_app off), less an empty interpreter's."""

    def measure(code: str) -> float:
        out = subprocess.run(
            [str(PY), "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return float(out.strip().splitlines()[-1])

    probe = (
        "import resource, sys; sys.path.insert(0, '.'); {imp}; "
        "r = resource.getrusage(resource.RUSAGE_SELF); print(r.ru_utime + r.ru_stime)"
    )
    empty = min(measure(probe.format(imp="pass")) for _ in range(3))
    return min(measure(probe.format(imp=f"import {module}")) for _ in range(3)) - empty


# --- the table ------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    project: str
    floor: str
    ratio: float | None
    target: str
    met: bool | None


def fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return ""
    return f"{row.ratio:.3g}"


def print_table(rows: list[Row], title: str) -> None:
    print()
    print(f"### {title}")
    print()
    print("| figure | project | floor | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        print(f"| {r.figure} | {r.project} | {r.floor} | {fmt_ratio(r)} | {r.target} | {met} |")
    print()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


def _terminate(signum, _frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # runs the finally: gunicorns stopped


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args()
    only = set(filter(None, args.only.split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    per_run = (
        (2 * int(args.duration * 150) if wanted("enroll") else 0)
        + (int(args.duration * 120) if wanted("verify") else 0)
        + (400 if wanted("notify") else 0)
        + (DIRECT_SETTLEMENT_PEOPLE if wanted("direct_settlement") else 0)
    )
    members_needed = args.members or (args.repeat * per_run + 200)
    print(f"loadavg at start: {os.getloadavg()}", flush=True)
    print(f"seeding: {members_needed} residents and members ...", flush=True)
    project_url = recreate_database(args.pg, f"{args.db_prefix}_project")
    floor_url = recreate_database(args.pg, f"{args.db_prefix}_floor")
    if args.redis_url:  # the run's own Redis database: rate-limit windows of an earlier run go
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
    env = project_env(project_url, args.redis_url)
    app = project_app(env)
    members = seed_project(app, members_needed)
    seed_statistics(app)
    fold(app)
    pool = iter(members)

    # The read floor serves a body of the statistics' size: measure that size first.
    from bench import floor_app

    with app.test_client() as client:
        stats_body = client.get("/public/statistics").data
        terms = client.get("/products/current").get_json()["terms_version"]
    from sqlalchemy import func, select

    from app.database import read_scope
    from app.disclosure.models import DisclosureCounter

    with app.app_context(), read_scope() as session:
        counter_rows = session.scalar(select(func.count()).select_from(DisclosureCounter))
    floor_app.setup(floor_url, counter_rows or 1)
    floor_env = {**env, "FLOOR_DATABASE_URL": floor_url, "FLOOR_READ_BYTES": str(len(stats_body))}

    floor_port, project_port = free_port(), free_port()
    floor = start_gunicorn("bench.floor_app:app", floor_port, floor_env)
    project = start_gunicorn("bench.project_wsgi:app", project_port, env)
    all_rows: list[list[Row]] = []
    try:
        wait_http(floor_port, "/read")
        wait_http(project_port, "/products/current")
        time.sleep(2)
        # A worker's CPU before its first request (the probe above reached one of them): the
        # least over the workers is what starting (or recycling) one costs.
        project_start = min(cpu_seconds(p) for p in worker_pids(project.pid))
        floor_start = min(cpu_seconds(p) for p in worker_pids(floor.pid))
        for run in range(1, args.repeat + 1):
            rows: list[Row] = []
            d = args.duration
            warm_w = [write_job() for _ in range(64)]
            fw = {
                c: load(floor_port, c, (write_job() for _ in itertools.count()), d, warm_w)
                for c in (16, 64)
            }
            floor_p99 = fw[64].p(99)
            if wanted("enroll"):
                for c in (16, 64):
                    batch = [next(pool) for _ in range(int(d * 150))]
                    issue_tokens(app, batch)
                    verify_in_process(app, batch)
                    sampler = LockSampler(args.pg, f"{args.db_prefix}_project") if c == 64 else None
                    if sampler:
                        sampler.start()
                    res = load(project_port, c, (enrollment_job(m, terms) for m in batch), d)
                    locks = sampler.stop() if sampler else None
                    if res.errors:
                        print(f"  enroll@{c}: {res.errors} errors, first: {res.first_error}")
                    ratio = res.requests_per_second / fw[c].requests_per_second
                    rows.append(
                        Row(
                            f"enrollment requests/s at {c} in flight",
                            f"{res.requests_per_second:.0f}",
                            f"{fw[c].requests_per_second:.0f}",
                            ratio,
                            ">= 0.4",
                            ratio >= 0.4,
                        )
                    )
                    ratio = res.units_per_second / fw[c].requests_per_second
                    rows.append(
                        Row(
                            f"enrollments/s at {c} in flight",
                            f"{res.units_per_second:.1f}",
                            f"{fw[c].requests_per_second:.0f}",
                            ratio,
                            ">= 0.1",
                            ratio >= 0.1,
                        )
                    )
                    if locks is not None:
                        rows.append(
                            Row(
                                "backends active / waiting on a lock (64 in flight, sampled)",
                                f"{locks['active']:.2f} / {locks['lock_waits']:.2f}",
                                "",
                                None,
                                "counter lock waits ~0 (< 0.05)",
                                sum(
                                    v
                                    for k, v in locks["by_relation"].items()
                                    if "disclosure_counters" in k
                                )
                                < 0.05,
                            )
                        )
                        print(f"  lock waits by relation: {locks['by_relation']}")
            if wanted("verify"):
                batch = [next(pool) for _ in range(int(d * 120))]
                issue_tokens(app, batch)
                res = load(project_port, 64, (verify_quote_job(m) for m in batch), d)
                if res.errors:
                    print(f"  verify: {res.errors} errors, first: {res.first_error}")
                p99 = res.p(99)
                rows.append(
                    Row(
                        "verify + quote p99 at 64 (ms)",
                        f"{p99 * 1000:.0f}",
                        f"{floor_p99 * 1000:.0f}",
                        p99 / floor_p99,
                        "<= 2",
                        p99 / floor_p99 <= 2,
                    )
                )
            if wanted("notify"):
                batch = [next(pool) for _ in range(400)]
                issue_tokens(app, batch)
                verify_in_process(app, batch)
                order_ids: list[int] = []
                load(project_port, 64, (wechat_order_job(m, terms, order_ids) for m in batch), None)
                notes = notifications_for(app, order_ids)
                res = load(project_port, 64, (notify_job(h, b) for h, b in notes), None)
                if res.errors:
                    print(f"  notify: {res.errors} errors, first: {res.first_error}")
                p99 = res.p(99)
                rows.append(
                    Row(
                        f"WeChat Pay notification first delivery p99 at 64 (ms, {len(notes)})",
                        f"{p99 * 1000:.0f}",
                        f"{floor_p99 * 1000:.0f}",
                        p99 / floor_p99,
                        "<= 2",
                        p99 / floor_p99 <= 2,
                    )
                )
            if wanted("direct_settlement"):
                from bench import direct_settlement_bench

                batch = [next(pool) for _ in range(DIRECT_SETTLEMENT_PEOPLE)]
                ds = direct_settlement_bench.measure(
                    app,
                    project_port,
                    batch,
                    d,
                    CONSENT["text_version"],
                    load,
                    cpu=lambda: cpu_split(project.pid),
                )

                def per_request(key: str, res, served: int, ds=ds) -> str:
                    """The phase's errors printed; its CPU by part, ms per request served."""
                    if res.errors:
                        print(f"  direct {key}: {res.errors} errors, first: {res.first_error}")
                    spent = ds["cpu"][key].items()
                    return ", ".join(f"{k} {v * 1000 / max(served, 1):.1f}" for k, v in spent)

                for name in ("trial", "confirm", "cancel"):
                    res = ds[name]
                    p99 = res.p(99)
                    n = res.recorder.count()
                    # the CPU measured includes the warm-up's
                    used = per_request(name, res, n + ds["warm"][name])
                    print(
                        f"  direct {name}: p50 {res.p(50) * 1000:.0f} ms, p90 "
                        f"{res.p(90) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (floor at 64: p50 "
                        f"{fw[64].p(50) * 1000:.0f}, p90 {fw[64].p(90) * 1000:.0f}, p99 "
                        f"{floor_p99 * 1000:.0f}); CPU ms per request: {used}",
                        flush=True,
                    )
                    rows.append(
                        Row(
                            f"direct settlement {name} p99 at 64 (ms; n={res.recorder.count()}, "
                            f"{res.requests_per_second:.0f}/s)",
                            f"{p99 * 1000:.0f}",
                            f"{floor_p99 * 1000:.0f}",
                            p99 / floor_p99,
                            "<= 2" if name != "cancel" else "",
                            p99 / floor_p99 <= 2 if name != "cancel" else None,
                        )
                    )
                for name, rate, res in ds["open"]:
                    n = res.recorder.count()
                    used = per_request(f"{name} at {rate}/s", res, n)
                    print(
                        f"  direct {name} open loop arriving at {rate}/s (answered "
                        f"{res.units_per_second:.0f}/s over the run, n={n}): p50 {res.p(50) * 1000:.0f} ms, p90 "
                        f"{res.p(90) * 1000:.0f} ms, p99 {res.p(99) * 1000:.0f} ms, max "
                        f"{res.p(100) * 1000:.0f} ms; CPU ms per request: {used}",
                        flush=True,
                    )
                    rows.append(
                        Row(
                            f"direct settlement {name} p50 / p99 arriving at {rate}/s, open loop "
                            f"(ms; n={n})",
                            f"{res.p(50) * 1000:.0f} / {res.p(99) * 1000:.0f}",
                            "",
                            None,
                            "",
                            None,
                        )
                    )
            if wanted("statistics"):
                # The periodic fold (flask disclosure fold-counters) after the payments above.
                print(f"  folded {fold(app)} counter slot rows", flush=True)
                fr = load(
                    floor_port,
                    64,
                    (get_job("/read") for _ in itertools.count()),
                    d,
                    [get_job("/read") for _ in range(64)],
                )
                warm = [get_job("/public/statistics") for _ in range(64)]
                res = load(
                    project_port,
                    64,
                    (get_job("/public/statistics") for _ in itertools.count()),
                    d,
                    warm,
                )
                p95 = res.p(95)
                rows.append(
                    Row(
                        f"/public/statistics p95 at 64 (ms; {len(stats_body):,} B body)",
                        f"{p95 * 1000:.0f} ({res.requests_per_second:.0f}/s)",
                        f"{fr.p(95) * 1000:.0f} ({fr.requests_per_second:.0f}/s)",
                        p95 / fr.p(95),
                        "<= 1.2",
                        p95 / fr.p(95) <= 1.2,
                    )
                )
                with app.test_client() as client:
                    etag = client.get("/public/statistics").headers["ETag"]
                res304 = load(
                    project_port,
                    64,
                    (
                        get_job("/public/statistics", {"If-None-Match": etag}, (304,))
                        for _ in itertools.count()
                    ),
                    d,
                )
                p95_304 = res304.p(95)
                rows.append(
                    Row(
                        "/public/statistics 304 p95 at 64 (ms)",
                        f"{p95_304 * 1000:.0f} ({res304.requests_per_second:.0f}/s)",
                        f"{fr.p(95) * 1000:.0f}",
                        p95_304 / fr.p(95),
                        "no body built",
                        None,
                    )
                )
            if wanted("adjudication"):
                from bench import adjudication_bench

                engine_rate, loop_rate = adjudication_bench.measure(seconds=min(d, 5))
                rows.append(
                    Row(
                        "adjudication, claims per CPU-second (pure)",
                        f"{engine_rate:,.0f}",
                        f"{loop_rate:,.0f} (minimal loop)",
                        engine_rate / loop_rate,
                        ">= 40,000/CPU-s",
                        engine_rate >= 40_000,
                    )
                )
            if wanted("boot"):
                rows.append(
                    Row(
                        "worker start, CPU-s before its first request (/proc)",
                        f"{project_start:.2f}",
                        f"{floor_start:.2f}",
                        project_start / max(floor_start, 0.01),
                        "<= 0.6 CPU-s, or no boot per 90 s",
                        project_start <= 0.6,
                    )
                )
                project_boot = boot_cpu("bench.project_wsgi", env)
                floor_boot = boot_cpu("bench.floor_app", floor_env)
                rows.append(
                    Row(
                        "app import + build, CPU-s (once in the master with preload_app)",
                        f"{project_boot:.2f}",
                        f"{floor_boot:.2f}",
                        project_boot / floor_boot,
                        "",
                        None,
                    )
                )
            rss = [rss_mib(p) for p in worker_pids(project.pid)]
            floor_rss = [rss_mib(p) for p in worker_pids(floor.pid)]
            if rss:
                rows.append(
                    Row(
                        "worker RSS after load (MiB, max)",
                        f"{max(rss):.0f}",
                        f"{max(floor_rss):.0f}" if floor_rss else "",
                        None,
                        "<= 150",
                        max(rss) <= 150,
                    )
                )
            print_table(rows, f"run {run} of {args.repeat}")
            all_rows.append(rows)
    finally:
        stop(project)
        stop(floor)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"client CPU: {usage.ru_utime + usage.ru_stime:.1f} s", flush=True)


if __name__ == "__main__":
    main()
