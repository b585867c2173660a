"""The fault suite (not a test): the service under faults, then its invariants. Run it with
`scripts/faults`; docs/reliability.md records a run and what the numbers mean.

The service runs as in production (gunicorn, HUIMIN_PROFILE=production, PostgreSQL, Redis, the
real adapters) against fakes of the bureau, WeChat login and WeChat Pay on loopback (the smoke
run's, tests/smoke; bench/fault_world.py). Members enrol (an order, then a payment from the
personal account or with WeChat Pay) while one fault at a time is injected:

    baseline           no fault
    kill_db_backends   pg_terminate_backend on the service's connections, every 0.3 s
    redis_down         the service's Redis (a private redis-server) stopped, then restarted
    sigkill_worker     a gunicorn worker SIGKILLed twice while requests are in flight
    bureau_slow        the bureau debits but answers after the service's outbound timeout
    wechatpay_slow     WeChat Pay answers the JSAPI order after the outbound timeout

Clients behave like the mini-program: a 5xx, a 409 idempotency_in_progress or a dropped
connection is retried with the same Idempotency-Key; a 202 or `processing` is polled. After each
fault it heals the fault, runs reconciliation (`flask payments reconcile --min-age 0`) and checks
(bench/fault_checks.py): `flask ledger check`, no half-written order or policy, every debit the
bureau made settled once as a payment and every settled payment debited, WeChat trades paid
exactly when their payments are, budgets and quotas recomputed from the ledger. It prints a
table (fault, requests, 5xx, 500, dropped, invariant breaks) and exits 1 on any invariant break
or any 500 other than those listed in KNOWN_500 (documented in docs/reliability.md).

Settings (environment): FAULTS_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/
postgres), FAULTS_DATABASE (fault_suite, dropped and created), FAULTS_REDIS_DB (13, on the
private redis-server), FAULTS_MEMBERS (12; the same members
enrol again under each fault, for another plan year), FAULTS_ONLY=name,name runs only those faults, FAULTS_KEEP=1 keeps the database and log.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Config  # noqa: E402
from bench import fault_checks  # noqa: E402
from bench.fault_world import Person, PrivateRedis, World, start_world  # noqa: E402
from tests.smoke import run as smoke  # noqa: E402

# The personal-information consent text in force (the service runs with the default).
CONSENT = {"accepted": True, "text_version": Config.PI_CONSENT_TEXT_VERSION}
CLIENT_DEADLINE_SECONDS = 40  # a member gives up on one enrolment after this long
POLLS = 5  # a member polls a pending payment this many times, a second apart
OUTBOUND_TIMEOUT = 5.0  # HTTP_TIMEOUT_SECONDS: the fakes' delays go past it
# Faults whose 500s are known and documented (docs/reliability.md); none since rate limits
# handle a Redis outage on purpose (docs/ratelimits.md).
KNOWN_500: dict[str, str] = {}


@dataclass
class Tally:
    """What the clients saw during one fault."""

    statuses: Counter = field(default_factory=Counter)
    routes_500: Counter = field(default_factory=Counter)
    dropped: int = 0
    gave_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, route: str, status: int | None) -> None:
        with self.lock:
            if status is None:
                self.dropped += 1
            else:
                self.statuses[status] += 1
                if status == 500:
                    self.routes_500[route] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.dropped

    @property
    def five_xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)


@dataclass
class Member:
    person: Person
    token: str = ""
    refresh: str = ""


class Client:
    """One member's mini-program: retries with the same key, polls what is pending."""

    def __init__(self, base: str, member: Member, tally: Tally) -> None:
        self.http = httpx.Client(base_url=base, timeout=OUTBOUND_TIMEOUT * 6)
        self.member, self.tally = member, tally

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, route: str, **kwargs) -> httpx.Response | None:
        headers = {"Authorization": f"Bearer {self.member.token}", **kwargs.pop("headers", {})}
        try:
            resp = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError:
            self.tally.saw(route, None)
            return None
        self.tally.saw(route, resp.status_code)
        return resp

    def until_done(self, method, path, route, deadline, **kwargs) -> httpx.Response | None:
        """Retry what a client retries (dropped, 5xx, 409 in progress) until `deadline`."""
        while time.monotonic() < deadline:
            resp = self.request(method, path, route, **kwargs)
            retry = resp is None or resp.status_code >= 500
            if resp is not None and resp.status_code == 409:
                retry = resp.json().get("code") == "idempotency_in_progress"
            if not retry:
                return resp
            time.sleep(0.3 + random.random() * 0.4)
        return None

    def enrol(self, product: str, terms: str, method: str, world: World) -> str:
        deadline = time.monotonic() + CLIENT_DEADLINE_SECONDS
        body = {
            "product_code": product,
            "include_self": True,
            "relative_ids": [],
            "payment_method": method,
            "terms": {"version": terms, "accepted": True},
        }
        key = {"Idempotency-Key": uuid.uuid4().hex}
        placed = self.until_done("POST", "/orders", "orders", deadline, json=body, headers=key)
        if placed is None or placed.status_code != 201:
            return f"order {placed.status_code if placed is not None else 'gave up'}"
        order_id = placed.json()["id"]
        key = {"Idempotency-Key": uuid.uuid4().hex}
        path = f"/orders/{order_id}/payments"
        paid = self.until_done(
            "POST", path, "payments", deadline, json={"method": method}, headers=key
        )
        if paid is None or paid.status_code not in (200, 202):
            return f"payment {paid.status_code if paid is not None else 'gave up'}"
        answer = paid.json()
        if answer["state"] == "awaiting_wechat":
            reference = self._wechat_reference(world, answer)
            headers, raw = world.wechat_pay.pay(world.fakes, reference)
            notified = self.until_done(
                "POST", "/payments/wechat/notify", "notify", deadline, headers=headers, content=raw
            )
            return "paid" if notified is not None and notified.status_code == 204 else "unpaid"
        poll = paid.headers.get("Location") or f"{path}/{answer['payment']['id']}"
        # Like the mini-program's "确认中" page: poll a few times, then leave it to reconciliation.
        polls = 0
        while answer["state"] == "processing" and polls < POLLS and time.monotonic() < deadline:
            polls += 1
            time.sleep(1.0)
            polled = self.until_done("GET", poll, "poll", deadline)
            if polled is None or polled.status_code != 200:
                break
            answer = polled.json()
        return answer["state"]

    @staticmethod
    def _wechat_reference(world: World, answer: dict) -> str:
        prepay = answer["wechat_js_params"]["package"].removeprefix("prepay_id=wx")
        return prepay

    def refresh(self) -> None:
        resp = self.request(
            "POST", "/auth/refresh", "refresh", json={"refresh_token": self.member.refresh}
        )
        if resp is not None and resp.status_code == 200:
            self.member.refresh = resp.json().get("refresh_token", self.member.refresh)


# --- the faults ----------------------------------------------------------------------------


@dataclass
class Suite:
    smoke: smoke.Smoke
    world: World
    redis: PrivateRedis
    members: list[Member]
    products: dict[str, tuple[str, str]] = field(default_factory=dict)  # fault -> (code, terms)


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def _sql(suite: Suite, statement: str, *args) -> list[tuple]:
    import psycopg

    url = f"{suite.smoke.pg_admin_url.rsplit('/', 1)[0]}/{suite.smoke.database}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        return list(conn.execute(statement, args).fetchall())


@contextmanager
def no_fault(suite: Suite) -> Iterator[None]:
    yield


@contextmanager
def _in_background(work) -> Iterator[None]:
    """Run `work(stop)` in a thread for the block's duration; `stop` is set at its end."""
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def kill_db_backends(suite: Suite) -> Iterator[None]:
    def killer(stop: threading.Event) -> None:
        while not stop.wait(0.3):
            _sql(
                suite,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                suite.smoke.database,
            )

    with _in_background(killer):
        yield


@contextmanager
def redis_down(suite: Suite) -> Iterator[None]:
    suite.redis.stop()
    try:
        yield
    finally:
        suite.redis.start()


@contextmanager
def sigkill_worker(suite: Suite) -> Iterator[None]:
    suite.world.slow_debit.delay = 1.0  # requests in flight when the worker dies

    def killer(stop: threading.Event) -> None:
        for wait in (1.5, 3.0):
            if stop.wait(wait):
                return
            workers = _worker_pids(suite.smoke.service.pid)  # type: ignore[union-attr]
            if workers:
                os.kill(random.choice(workers), signal.SIGKILL)

    try:
        with _in_background(killer):
            yield
    finally:
        suite.world.slow_debit.delay = 0.0


@contextmanager
def bureau_slow(suite: Suite) -> Iterator[None]:
    suite.world.slow_debit.delay = OUTBOUND_TIMEOUT + 1.0
    try:
        yield
    finally:
        suite.world.slow_debit.delay = 0.0


@contextmanager
def wechatpay_slow(suite: Suite) -> Iterator[None]:
    suite.world.wechat_pay.delay = OUTBOUND_TIMEOUT + 1.0
    heal = threading.Timer(12.0, lambda: setattr(suite.world.wechat_pay, "delay", 0.0))
    heal.start()  # WeChat Pay recovers while the members are still retrying
    try:
        yield
    finally:
        heal.cancel()
        suite.world.wechat_pay.delay = 0.0


FAULTS: list[tuple[str, Callable, str]] = [
    ("baseline", no_fault, "mixed"),
    ("kill_db_backends", kill_db_backends, "mixed"),
    ("redis_down", redis_down, "mixed"),
    ("sigkill_worker", sigkill_worker, "personal_account"),
    ("bureau_slow", bureau_slow, "personal_account"),
    ("wechatpay_slow", wechatpay_slow, "wechat"),
]


def run_fault(suite: Suite, name: str, fault: Callable, methods: str) -> tuple[Tally, list[str]]:
    tally = Tally()
    base = f"http://127.0.0.1:{suite.smoke.port}"
    code, terms = suite.products[name]
    outcomes: list[str] = []

    def one(index: int, member: Member) -> str:
        client = Client(base, member, tally)
        try:
            if name == "redis_down" and index % 2 == 0:
                client.refresh()  # a rate-limited route while Redis is down
            method = methods
            if methods == "mixed":
                method = "wechat" if index % 3 == 2 else "personal_account"
            return client.enrol(code, terms, method, suite.world)
        finally:
            client.close()

    with fault(suite), ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda pair: one(*pair), enumerate(suite.members)))
    tally.gave_up = sum(1 for o in outcomes if o not in ("paid", "processing"))
    smoke._flask(suite.smoke, "payments", "reconcile", "--min-age", "0")
    return tally, outcomes


# --- setting up ----------------------------------------------------------------------------


def _product(suite: Suite, fault: str, year: int) -> Path:
    """A product per fault, each for its own plan year and on sale today, so every fault's
    members enrol afresh (one enrolment per person and plan year)."""
    code, path = smoke.dated_definition(suite.smoke.workdir, year)
    text = path.read_text(encoding="utf-8")
    this_year = date.today().year
    text = text.replace(f'code = "{code}"', f'code = "fault-{fault.replace("_", "-")}"')
    text = text.replace(f"opens = {year}-01-01", f"opens = {this_year}-01-01")
    text = text.replace(f"closes = {year}-12-31", f"closes = {this_year}-12-31")
    text = text.replace(f"starts = {year}-01-01", f"starts = {this_year}-01-01")
    path.write_text(text, encoding="utf-8")
    fault_code = f"fault-{fault.replace('_', '-')}"
    renamed = path.with_name(f"{fault_code}.toml")
    path.rename(renamed)
    suite.products[fault] = (fault_code, "")
    return renamed


def _terms(suite: Suite) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{suite.smoke.port}", timeout=10) as http:
        for fault, (code, _) in suite.products.items():
            product = http.get(f"/products/{code}")
            smoke.check(product.status_code == 200, f"product {code}: {product.text[:300]}")
            suite.products[fault] = (code, product.json()["terms_version"])


def _sign_up(suite: Suite) -> None:
    """Each member logs in with WeChat and verifies their identity with the bureau (once)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{suite.smoke.port}", timeout=15) as http:
        for member in suite.members:
            login = http.post("/auth/wechat/login", json={"code": member.person.login_code})
            smoke.check(login.status_code == 200, f"login: {login.status_code} {login.text}")
            member.token = login.json()["access_token"]
            member.refresh = login.json()["refresh_token"]
            verified = http.post(
                "/me/identity",
                headers={"Authorization": f"Bearer {member.token}"},
                json={
                    "name": member.person.name,
                    "id_number": member.person.certno,
                    "consent": CONSENT,
                },
            )
            smoke.check(
                verified.status_code == 200, f"verify: {verified.status_code} {verified.text}"
            )


def _unhandled(state: smoke.Smoke, offset: int) -> list[str]:
    """The service's own account of each 500 since `offset` in its log: error type and the last
    lines of the traceback."""
    import json

    if state.log_path is None:
        return []
    with state.log_path.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode("utf-8", "replace").splitlines()
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("msg") == "unhandled error":
            text = record.get("exc_info") or record.get("exc_text") or record.get("exception")
            trace = str(text or "").strip().splitlines()
            found.append(f"{record.get('route')}: {record.get('error_type')}: {trace[-1:]}")
    return found


def _table(rows: list[tuple]) -> str:
    head = ("fault", "requests", "5xx", "500", "dropped", "unfinished", "invariant breaks")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *map(line, rows)])


def main() -> int:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.monotonic()
    keep = os.environ.get("FAULTS_KEEP") == "1"
    workdir = Path(tempfile.mkdtemp(prefix="huimin-faults-"))
    state = smoke.Smoke(
        pg_admin_url=os.environ.get(
            "FAULTS_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        database=os.environ.get("FAULTS_DATABASE", "fault_suite"),
        redis_url="",
        workdir=workdir,
        keep=keep,
        env={
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FAULTS_", "SMOKE_", "HUIMIN_"))
        },
    )
    redis = PrivateRedis(smoke._free_port(), workdir)
    count = int(os.environ.get("FAULTS_MEMBERS", "12"))
    suite: Suite | None = None
    try:
        redis.start()
        state.redis_url = (
            f"redis://127.0.0.1:{redis.port}/{os.environ.get('FAULTS_REDIS_DB', '13')}"
        )
        state.env["REDIS_URL"] = state.redis_url
        world = start_world(count)
        state.fakes = world.fakes
        state.env.update(world.fakes.service_environment())
        smoke.create_database(state)
        smoke.production_configuration(state)
        # The master kills a silent worker after this long, and a key's lease is as long.
        state.env.update({"GUNICORN_TIMEOUT": "20", "GUNICORN_GRACEFUL_TIMEOUT": "5"})
        smoke.migrate(state)
        suite = Suite(state, world, redis, [Member(p) for p in world.people])
        paths = [_product(suite, f, 2031 + offset) for offset, (f, _, _) in enumerate(FAULTS)]
        smoke._flask(state, "products", "load", *map(str, paths))
        smoke.start_service(state)
        _terms(suite)
        _sign_up(suite)
        print(f"faults: set up in {time.monotonic() - started:.0f}s", flush=True)
        rows, failed = [], False
        only = {f for f in os.environ.get("FAULTS_ONLY", "").split(",") if f}
        for fault, inject, methods in FAULTS:
            if only and fault not in only:
                continue
            began = time.monotonic()
            log_from = state.log_path.stat().st_size if state.log_path else 0
            tally, outcomes = run_fault(suite, fault, inject, methods)
            breaks = fault_checks.check(suite.smoke, world, fault)
            known = fault in KNOWN_500
            failed |= bool(breaks) or (tally.statuses[500] > 0 and not known)
            rows.append(
                (
                    fault,
                    tally.requests,
                    tally.five_xx,
                    tally.statuses[500],
                    tally.dropped,
                    tally.gave_up,
                    len(breaks),
                )
            )
            print(
                f"faults: {fault} in {time.monotonic() - began:.0f}s: statuses "
                f"{dict(sorted(tally.statuses.items()))}, 500 by route {dict(tally.routes_500)}, "
                f"outcomes {dict(Counter(outcomes))}",
                flush=True,
            )
            for problem in breaks:
                print(f"faults:   BREAK {problem}", flush=True)
            for line in _unhandled(state, log_from):
                print(f"faults:   500 {line}", flush=True)
        print(_table(rows))
        for fault, why in KNOWN_500.items():
            print(f"known 500s in {fault}: {why}")
        print(f"faults: {len(rows)} faults in {time.monotonic() - started:.0f}s")
        return 1 if failed else 0
    except smoke.StepFailed as exc:
        print(f"faults: setup failed: {exc}\n{state.log_tail()}")
        return 1
    finally:
        smoke._cleanup(state)
        redis.stop()
        if keep:
            print(f"faults: kept {workdir} and database {state.database}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
