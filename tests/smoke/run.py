"""Production start check: the service under gunicorn with HUIMIN_PROFILE=production, against
PostgreSQL, Redis and fakes of the bureau, WeChat login and WeChat Pay on loopback, driven over
HTTP the way the mini-program and WeChat would. Run with `scripts/smoke` (CI: .ci/run).

It lives under tests/ rather than app/ because it is test tooling: it drives the service from
outside, reuses the adapter tests' fake servers (tests/integrations) and needs the test extras
(pytest-httpserver); none of it belongs in the installed application.

The run is a list of named steps (`@step("name")`), executed in order; the first that fails stops
the run, which prints the step, why, and the tail of the service's log, and exits 1. A new
capability adds its steps where they belong in the list (after "policy" for a claim, say).

Settings (environment):
    SMOKE_PG_ADMIN_URL  a PostgreSQL URL allowed to create databases
                        (default postgresql://postgres@127.0.0.1:5432/postgres)
    SMOKE_DATABASE      the database the run drops and creates (default huimin_smoke)
    SMOKE_REDIS_URL     Redis for the service; this database is flushed at the start, so give the
                        run one of its own (default redis://127.0.0.1:6379/14)
    SMOKE_KEEP=1        keep the database and the service log afterwards (for a look by hand)
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DEFINITIONS = ROOT / "app" / "products" / "definitions"
DEMO_DEFINITION = "ganzhou-demo-2026"
SERVICE_START_SECONDS = 30


class StepFailed(AssertionError):
    """A step's expectation did not hold."""


def check(condition: Any, message: str) -> None:
    if not condition:
        raise StepFailed(message)


@dataclass
class Step:
    name: str
    run: Callable[[Smoke], None]


STEPS: list[Step] = []


def step(name: str) -> Callable[[Callable[[Smoke], None]], Callable[[Smoke], None]]:
    """Append the decorated function to the run, under `name`."""

    def register(func: Callable[[Smoke], None]) -> Callable[[Smoke], None]:
        STEPS.append(Step(name, func))
        return func

    return register


@dataclass
class Smoke:
    """What the steps share: settings, the fakes, the running service, and what earlier steps
    found (tokens, ids)."""

    pg_admin_url: str
    database: str
    redis_url: str
    workdir: Path
    keep: bool = False
    fakes: Any = None
    env: dict[str, str] = field(default_factory=dict)
    service: subprocess.Popen | None = None
    port: int = 0
    http: httpx.Client | None = None
    log_path: Path | None = None
    metrics_token: str = ""
    product_code: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    # --- helpers for steps ----------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        key: bool = False,
        expect: int | tuple[int, ...] = 200,
        **kwargs,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        resp = self.http.request(method, path, headers=headers, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        check(
            resp.status_code in expected,
            f"{method} {path}: expected {expected}, got {resp.status_code} {resp.text[:500]}",
        )
        return resp

    def log_tail(self, lines: int = 30, width: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no service log)"
        return "\n".join(
            line[:width] for line in self.log_path.read_text(errors="replace").splitlines()[-lines:]
        )


def run_steps(steps: list[Step], smoke: Smoke, out: TextIO = sys.stdout) -> int:
    """Run `steps` in order; 0 when all pass, 1 at the first failure (named, with the reason)."""
    started = time.monotonic()
    for item in steps:
        began = time.monotonic()
        try:
            item.run(smoke)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, StepFailed) else traceback.format_exc()
            print(f"smoke: step '{item.name}' FAILED: {reason}", file=out)
            print(f"smoke: service log (last lines):\n{smoke.log_tail()}", file=out)
            return 1
        print(f"smoke: step '{item.name}' ok ({time.monotonic() - began:.2f}s)", file=out)
    print(f"smoke: {len(steps)} steps passed in {time.monotonic() - started:.1f}s", file=out)
    return 0


# --- setting up ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _b64_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def dated_definition(target: Path, year: int) -> tuple[str, Path]:
    """The demo product for `year`, open all year: the run must not depend on today's date
    falling inside the shipped demo product's window."""
    code = f"smoke-{year}"
    text = (SHIPPED_DEFINITIONS / f"{DEMO_DEFINITION}.toml").read_text(encoding="utf-8")
    replacements = {
        r'^code = ".*"': f'code = "{code}"',
        r'^name = ".*"': f'name = "惠民保 {year}（上线检查）"',
        r"^plan_year = \d+": f"plan_year = {year}",
        r"^opens = \S+": f"opens = {year}-01-01",
        r"^closes = \S+": f"closes = {year}-12-31",
        r"^starts = \S+": f"starts = {year}-01-01",
        r"^ends = \S+": f"ends = {year}-12-31",
    }
    for pattern, value in replacements.items():
        text, count = re.subn(pattern, value, text, count=1, flags=re.MULTILINE)
        check(count == 1, f"{DEMO_DEFINITION}.toml has no line matching {pattern!r}")
    path = target / f"{code}.toml"
    path.write_text(text, encoding="utf-8")
    terms = SHIPPED_DEFINITIONS / f"{DEMO_DEFINITION}.terms.md"
    (target / terms.name).write_text(terms.read_text(encoding="utf-8"), encoding="utf-8")
    return code, path


def _flask(smoke: Smoke, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=smoke.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    check(
        done.returncode == 0,
        f"flask {' '.join(args)} exited {done.returncode}:\n"
        f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}",
    )
    return done.stdout


@step("database")
def create_database(smoke: Smoke) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    check(re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", smoke.database), "SMOKE_DATABASE: a plain name")
    with psycopg.connect(smoke.pg_admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{smoke.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{smoke.database}"')
    url = make_url(smoke.pg_admin_url).set(drivername="postgresql+psycopg", database=smoke.database)
    smoke.env["DATABASE_URL"] = url.render_as_string(hide_password=False)


@step("redis")
def flush_redis(smoke: Smoke) -> None:
    import redis

    client = redis.Redis.from_url(smoke.redis_url, socket_connect_timeout=5, socket_timeout=5)
    check(client.ping(), "Redis does not answer PING")
    client.flushdb()  # rate-limit counters of an earlier run would refuse this one
    client.close()
    smoke.env["REDIS_URL"] = smoke.redis_url


@step("fakes")
def start_fakes(smoke: Smoke) -> None:
    from tests.smoke.fakes import start_fakes as start

    smoke.fakes = start()
    smoke.env.update(smoke.fakes.service_environment())


@step("configuration")
def production_configuration(smoke: Smoke) -> None:
    """Fresh secrets for this run, the production profile, and the service's address."""
    smoke.port = _free_port()
    smoke.metrics_token = secrets.token_urlsafe(32)
    smoke.log_path = smoke.workdir / "service.log"
    metrics_dir = smoke.workdir / "metrics"
    metrics_dir.mkdir()
    smoke.env.update(
        {
            "HUIMIN_PROFILE": "production",
            "JWT_KEYS": f"smoke-1:{secrets.token_urlsafe(48)}",
            "FIELD_ENCRYPTION_KEY": _b64_key(),
            "BLIND_INDEX_KEY": _b64_key(),
            "DUPLICATE_CHECK_KEY": _b64_key(),
            "CERTIFICATE_SIGNING_KEY": secrets.token_urlsafe(48),
            "CAMPAIGN_SIGNING_KEY": secrets.token_urlsafe(48),
            "DOCUMENT_ENCRYPTION_KEY": _b64_key(),
            "STORAGE_LOCAL_DIR": str(smoke.workdir / "documents"),
            "DISCLOSURE_MIN_CELL": "1",  # two people enroll here: publish every cell
            # Claim notifications and payouts: no step uses them yet, but production refuses the
            # sandboxes. The payout platform is never called before a claim is paid.
            "NOTIFIER_BACKEND": "real",
            "NOTIFY_TEMPLATES": json.dumps(
                {"claim_*": {"template_id": "TPL-SMOKE", "fields": {"thing1": "status"}}}
            ),
            "PAYOUT_BACKEND": "real",
            "PAYOUT_BASE_URL": "https://payout.smoke.invalid",
            "PAYOUT_MERCHANT_ID": "smoke-merchant",
            "PAYOUT_SECRET": secrets.token_urlsafe(48),
            "METRICS_TOKEN": smoke.metrics_token,
            "PUBLIC_BASE_URL": "https://huimin.smoke.invalid",
            "WECHATPAY_NOTIFY_URL": f"http://127.0.0.1:{smoke.port}/payments/wechat/notify",
            "LOG_FORMAT": "json",
            "BIND": f"127.0.0.1:{smoke.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
    )
    from app.config import ConfigurationError, load_config

    saved = dict(os.environ)
    try:
        os.environ.update(smoke.env)
        load_config("production")  # refuses now, with its own message, rather than in a worker
    except ConfigurationError as exc:
        raise StepFailed(f"the production profile refuses the run's settings: {exc}") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)


@step("migrate")
def migrate(smoke: Smoke) -> None:
    check("database at head" in _flask(smoke, "db-upgrade"), "db-upgrade did not reach head")


@step("products")
def load_products(smoke: Smoke) -> None:
    from app.common.clock import today_shanghai

    smoke.product_code, path = dated_definition(smoke.workdir, today_shanghai().year)
    # The shipped definitions and this run's, in one command (one start of the app).
    shipped = sorted(str(p) for p in SHIPPED_DEFINITIONS.glob("*.toml"))
    _flask(smoke, "products", "load", *shipped, str(path))


@step("gunicorn")
def start_service(smoke: Smoke) -> None:
    log = smoke.log_path.open("wb")
    smoke.service = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=smoke.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    smoke.http = httpx.Client(base_url=f"http://127.0.0.1:{smoke.port}", timeout=15)
    deadline = time.monotonic() + SERVICE_START_SECONDS
    while time.monotonic() < deadline:
        check(smoke.service.poll() is None, f"gunicorn exited with {smoke.service.returncode}")
        try:
            if smoke.http.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise StepFailed(f"no answer on /healthz within {SERVICE_START_SECONDS}s")


# --- the walk through --------------------------------------------------------------------------


@step("healthz")
def healthz(smoke: Smoke) -> None:
    check(smoke.call("GET", "/healthz").json() == {"status": "ok"}, "unexpected /healthz body")


@step("readyz")
def readyz(smoke: Smoke) -> None:
    body = smoke.call("GET", "/readyz").json()
    check(
        body
        == {"status": "ready", "checks": {"database": "ok", "redis": "ok", "rate_limits": "ok"}},
        f"unexpected /readyz body {body}",
    )


@step("login")
def login(smoke: Smoke) -> None:
    body = smoke.call("POST", "/auth/wechat/login", json={"code": "smoke-login-code-1"}).json()
    check(body.get("access_token") and body.get("refresh_token"), "no tokens in the login answer")
    calls = smoke.fakes.wechat_login.calls
    check(calls and calls[-1]["js_code"] == "smoke-login-code-1", "WeChat was not asked")
    smoke.state["token"] = body["access_token"]
    refused = smoke.call(
        "POST", "/auth/wechat/login", json={"code": "invalid-code"}, expect=(400, 401, 422, 503)
    )
    check(
        refused.headers["content-type"].startswith("application/problem+json"),
        "a refused login is not problem details",
    )


@step("verify_identity")
def verify_identity(smoke: Smoke) -> None:
    from tests.integrations.test_bureau_http import EMPLOYEE_ID

    # The consent is to the text in force, whose version the consent page lists (as the
    # mini-program reads it before showing the text).
    versions = smoke.call("GET", "/me/consents", token=smoke.state["token"]).json()
    consent = {
        "accepted": True,
        "text_version": versions["current_text_versions"]["personal_information"],
    }
    smoke.state["consent"] = consent
    request_id = f"smoke-{uuid.uuid4().hex}"
    smoke.state["verify_request_id"] = request_id
    resp = smoke.call(
        "POST",
        "/me/identity",
        token=smoke.state["token"],
        headers={"X-Request-ID": request_id},
        json={"name": "张伟", "id_number": EMPLOYEE_ID, "consent": consent},
    )
    check(resp.headers.get("X-Request-Id") == request_id, "the request id was not echoed")
    check(EMPLOYEE_ID not in resp.text, "the ID number came back unmasked")
    check(
        any(env.get("infno") == "1101" for env in smoke.fakes.bureau.received),
        "the bureau was not asked (1101)",
    )


@step("add_relative")
def add_relative(smoke: Smoke) -> None:
    from tests.integrations.test_bureau_http import IDENTITY_ID

    body = smoke.call(
        "POST",
        "/me/relatives",
        token=smoke.state["token"],
        expect=201,
        json={
            "name": "王芳",
            "id_number": IDENTITY_ID,
            "relation": "spouse",
            "consent": smoke.state["consent"],
        },
    ).json()
    smoke.state["relative_id"] = body["id"]


@step("quote")
def quote(smoke: Smoke) -> None:
    product = smoke.call("GET", f"/products/{smoke.product_code}").json()
    check(product["window"]["open_now"], f"{smoke.product_code} is not on sale today")
    smoke.state["terms"] = {"version": product["terms_version"], "accepted": True}
    body = smoke.call(
        "POST",
        "/quotes",
        token=smoke.state["token"],
        json={
            "product_code": smoke.product_code,
            "include_self": True,
            "relative_ids": [smoke.state["relative_id"]],
        },
    ).json()
    check(
        len(body["lines"]) == 2 and all(line["eligible"] for line in body["lines"]),
        f"both people should be eligible: {body['lines']}",
    )
    check(
        body["total_pay_fen"] == sum(line["pay_fen"] for line in body["lines"]) > 0,
        "the quote's total is not the sum of its lines",
    )
    check("personal_account" in body["payment_methods"], "personal account not offered")


def _order(smoke: Smoke, include_self: bool, relative_ids: list[int], method: str) -> dict:
    body = {
        "product_code": smoke.product_code,
        "include_self": include_self,
        "relative_ids": relative_ids,
        "payment_method": method,
        "terms": smoke.state["terms"],
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = smoke.call(
        "POST", "/orders", token=smoke.state["token"], headers=key, json=body, expect=201
    ).json()
    again = smoke.call(
        "POST", "/orders", token=smoke.state["token"], headers=key, json=body, expect=(200, 201)
    ).json()
    check(again["id"] == first["id"], "a retried order (same Idempotency-Key) made another order")
    return first


@step("order")
def order(smoke: Smoke) -> None:
    placed = _order(smoke, True, [], "personal_account")
    check(placed["status"] == "pending_payment", f"new order is {placed['status']}")
    smoke.state["order"] = placed


@step("pay_personal_account")
def pay_personal_account(smoke: Smoke) -> None:
    from tests.integrations.test_bureau_account_http import PSN

    book = smoke.fakes.account_book
    before = book.balances[PSN]
    placed = smoke.state["order"]
    body = smoke.call(
        "POST",
        f"/orders/{placed['id']}/payments",
        token=smoke.state["token"],
        key=True,
        json={"method": "personal_account"},
    ).json()
    check(body["state"] == "paid", f"payment state {body['state']}")
    check(
        book.balances[PSN] == before - placed["total_pay_fen"],
        f"the bureau's account moved {before - book.balances[PSN]} fen, "
        f"not {placed['total_pay_fen']}",
    )


@step("policy")
def policy(smoke: Smoke) -> None:
    policies = smoke.call("GET", "/policies", token=smoke.state["token"]).json()
    check(len(policies) == 1 and policies[0]["status"] == "active", f"policies: {policies}")
    cert = smoke.call(
        "GET", f"/policies/{policies[0]['id']}/certificate", token=smoke.state["token"]
    ).json()
    check(
        cert["verify_url"].startswith("https://huimin.smoke.invalid/"),
        "the certificate link is not on PUBLIC_BASE_URL",
    )
    query = cert["verify_url"].split("?", 1)[1]
    public = smoke.call("GET", f"/public/certificates/verify?{query}").json()
    check(public["valid"] is True, f"the certificate does not verify: {public}")
    smoke.state["policy_id"] = policies[0]["id"]


@step("claim")
def claim(smoke: Smoke) -> None:
    """A claim with a photographed invoice: the draft, the upload (sniffed, re-encoded, stored
    encrypted on disk), the submission and the engine's explanation. Care today is before the
    policy's next-day cover, so the claim is flagged for a reviewer rather than paid."""
    import io
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from PIL import Image

    token = smoke.state["token"]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    draft = smoke.call(
        "POST",
        "/claims",
        token=token,
        expect=201,
        json={
            "policy_id": smoke.state["policy_id"],
            "care_kind": "emergency",
            "hospital_name": "冒烟测试医院",
            "admitted_on": today,
            "discharged_on": today,
            "diagnosis": "急性胃肠炎",
            "medfee_sumamt_fen": 300_000,
            "hifp_pay_fen": 180_000,
            "in_policy_self_pay_fen": 120_000,
            "payee": {
                "name": "张伟",
                "bank_name": "工商银行",
                "bank_account": "6222020200112233445",
            },
            "invoices": [{"issuer": "冒烟测试医院", "number": "SMOKE0001", "amount_fen": 300_000}],
        },
    ).json()
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (240, 240, 240)).save(photo, "JPEG")
    for doc_type in ("invoice", "settlement_sheet"):
        smoke.call(
            "POST",
            f"/claims/{draft['id']}/documents",
            token=token,
            expect=201,
            data={"doc_type": doc_type},
            files={"file": ("invoice.jpg", photo.getvalue(), "image/jpeg")},
        )
    done = smoke.call("POST", f"/claims/{draft['id']}/submit", token=token, key=True).json()
    check(done["status"] == "pending_review", f"claim status {done['status']}")
    check(
        done["adjudication"]["lines"][-1]["code"] == "payable_total", "the claim has no explanation"
    )
    stored = list((smoke.workdir / "documents").rglob("*"))
    blobs = [p for p in stored if p.is_file()]
    check(
        len(blobs) == 2 and all(b"JFIF" not in p.read_bytes()[:64] for p in blobs),
        "documents are not stored (or not encrypted) on disk",
    )


@step("pay_wechat")
def pay_wechat(smoke: Smoke) -> None:
    """The relative's cover paid with WeChat Pay: a signed JSAPI order at the fake, then the
    fake sends WeChat's signed, encrypted notification to the service."""
    from tests.integrations.test_wechatpay_real import JSAPI

    fake = smoke.fakes.wechat_pay
    fake.route(JSAPI, "POST", 200, {"prepay_id": "wx2026smoke0000000000000000000001"})
    placed = _order(smoke, False, [smoke.state["relative_id"]], "wechat")
    body = smoke.call(
        "POST",
        f"/orders/{placed['id']}/payments",
        token=smoke.state["token"],
        key=True,
        json={"method": "wechat"},
    ).json()
    check(
        body["state"] == "awaiting_wechat" and body["wechat_js_params"],
        f"no WeChat payment started: {body}",
    )
    check(
        fake.auth_failures == [], f"the fake refused the service's signature: {fake.auth_failures}"
    )
    created = fake.requests[-1]["json"]
    check(created["amount"]["total"] == placed["total_pay_fen"], "WeChat was asked another amount")

    forged_headers, forged_body = smoke.fakes.notification(created, forged=True)
    smoke.call(
        "POST", "/payments/wechat/notify", headers=forged_headers, content=forged_body, expect=401
    )
    headers, raw = smoke.fakes.notification(created)
    smoke.call("POST", "/payments/wechat/notify", headers=headers, content=raw, expect=204)
    smoke.call("POST", "/payments/wechat/notify", headers=headers, content=raw, expect=204)  # retry

    paid = smoke.call("GET", f"/orders/{placed['id']}", token=smoke.state["token"]).json()
    check(paid["status"] == "paid", f"order after the notification: {paid['status']}")
    policies = smoke.call("GET", "/policies", token=smoke.state["token"]).json()
    check(len(policies) == 2, f"expected the relative's policy too: {policies}")


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@step("statistics")
def statistics(smoke: Smoke) -> None:
    """The public figures, with no login, reflect what the run did: two people enrolled (one
    from the personal account, one with WeChat), one claim received; cacheable with an ETag."""
    resp = smoke.call("GET", "/public/statistics", params={"product": smoke.product_code})
    [product] = resp.json()["products"]
    year = product["year"]
    check(year["enrolled_people"]["value"] == 2, f"enrolled people {year['enrolled_people']}")
    by_source = {k: v["value"] for k, v in year["enrolled_by_funding_source"].items()}
    check(
        by_source.get("personal_account") == 1 and by_source.get("wechat") == 1,
        f"by funding source {by_source}",
    )
    check(year["claims_received"]["value"] == 1, f"claims received {year['claims_received']}")
    etag = resp.headers.get("ETag")
    check(bool(etag), "no ETag on the public statistics")
    smoke.call(
        "GET",
        "/public/statistics",
        params={"product": smoke.product_code},
        headers={"If-None-Match": etag},
        expect=304,
    )


@step("metrics")
def metrics(smoke: Smoke) -> None:
    smoke.call("GET", "/metrics", expect=401)
    smoke.call("GET", "/metrics", token=smoke.state["token"], expect=401)  # a member's token
    found = _samples(smoke.call("GET", "/metrics", token=smoke.metrics_token).text)
    for method in ("personal_account", "wechat"):
        key = ("huimin_payment_outcomes_total", (("method", method), ("outcome", "succeeded")))
        check(found.get(key) == 1, f"{method} payments counted {found.get(key)}, not 1")
    # Both workers' requests, added up (prometheus multiprocess mode under gunicorn).
    key = (
        "huimin_http_requests_total",
        (("method", "POST"), ("route", "/orders/<int:order_id>/payments"), ("status_class", "2xx")),
    )
    check(found.get(key) == 2, f"payment requests counted {found.get(key)}, not 2")
    key = ("huimin_claim_outcomes_total", (("decision", "pending_review"),))
    check(found.get(key) == 1, f"claims sent to review counted {found.get(key)}, not 1")


@step("logs")
def logs(smoke: Smoke) -> None:
    from tests.integrations.test_bureau_http import EMPLOYEE_ID, IDENTITY_ID

    text = smoke.log_path.read_text(encoding="utf-8")
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            records.append(json.loads(line))
        except ValueError:
            raise StepFailed(f"service log line {number} is not JSON: {line[:200]}") from None
    check(EMPLOYEE_ID not in text and IDENTITY_ID not in text, "an ID number is in the log")
    verify = [
        r
        for r in records
        if r.get("request_id") == smoke.state["verify_request_id"]
        and r.get("logger") == "huimin.request"
    ]
    check(
        len(verify) == 1
        and verify[0]["route"] == "/me/identity"
        and verify[0]["status"] == 200
        and isinstance(verify[0].get("member_id"), int),
        f"the verification's request line: {verify}",
    )


@step("graceful_stop")
def graceful_stop(smoke: Smoke) -> None:
    smoke.http.close()  # idle keep-alive connections would hold the workers until the timeout
    smoke.service.send_signal(signal.SIGTERM)
    try:
        code = smoke.service.wait(timeout=40)
    except subprocess.TimeoutExpired:
        raise StepFailed("gunicorn did not stop within 40s of SIGTERM") from None
    check(code == 0, f"gunicorn exited {code} on SIGTERM")


# --- main ----------------------------------------------------------------------------------------


def _cleanup(smoke: Smoke) -> None:
    if smoke.http is not None:
        smoke.http.close()
    if smoke.service is not None and smoke.service.poll() is None:
        smoke.service.send_signal(signal.SIGTERM)
        try:
            smoke.service.wait(timeout=40)
        except subprocess.TimeoutExpired:
            smoke.service.kill()
            smoke.service.wait()
    if smoke.fakes is not None:
        smoke.fakes.stop()
    if not smoke.keep and "DATABASE_URL" in smoke.env:
        try:
            import psycopg

            with psycopg.connect(smoke.pg_admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{smoke.database}" WITH (FORCE)')
        except Exception as exc:  # the run's verdict stands; say what was left behind
            print(f"smoke: could not drop {smoke.database}: {type(exc).__name__}")


def main() -> int:
    # The fakes' werkzeug servers log every request; the steps say what matters.
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    keep = os.environ.get("SMOKE_KEEP") == "1"
    workdir = Path(tempfile.mkdtemp(prefix="huimin-smoke-"))
    smoke = Smoke(
        pg_admin_url=os.environ.get(
            "SMOKE_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        database=os.environ.get("SMOKE_DATABASE", "huimin_smoke"),
        redis_url=os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/14"),
        workdir=workdir,
        keep=keep,
        # The service gets the caller's environment (PATH, locale) plus what the steps set.
        env={k: v for k, v in os.environ.items() if not k.startswith("SMOKE_")},
    )
    try:
        return run_steps(STEPS, smoke)
    finally:
        _cleanup(smoke)
        if keep:
            print(f"smoke: kept {workdir} and database {smoke.database}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
