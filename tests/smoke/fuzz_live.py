"""schemathesis against a live gunicorn (PostgreSQL, Redis, rate limits on), not only in process
(tests/security/test_schemathesis.py is the deep, in-process run). Run with
`scripts/schemathesis-live`; CI: .ci/run.

The service runs with the sandbox adapters and the demo data (`flask demo seed`), so the tokens
come the way a tester gets them: the sandbox WeChat login `demo-zhangwei` (张伟, verified and
insured by the seed) for the member's operations, `demo-operator` for insurer staff operations,
`demo-charity` (an organisation's admin) for programmes, campaigns and reports. Each group of
operations is fuzzed with its token by the schemathesis CLI, within a time budget; the run fails
on any 5xx or any answer the spec does not describe (status, content type, body, headers).

Settings (environment): FUZZ_PG_ADMIN_URL, FUZZ_DATABASE (huimin_fuzz, dropped and created),
FUZZ_REDIS_URL (redis://127.0.0.1:6379/12, flushed), FUZZ_SECONDS (90: the fuzzing budget,
shared between the groups).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.smoke.run import ROOT, _free_port

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
ORGANISATION_PATHS = r"^/staff/(programmes|campaigns|reports)"
# (label, token holder, include regex, exclude regex, share of the time budget)
GROUPS = (
    ("member and public", "member", None, r"^/staff/", 0.5),
    ("insurer staff", "operator", r"^/staff/", ORGANISATION_PATHS, 0.3),
    ("organisation admin", "charity", ORGANISATION_PATHS, None, 0.2),
)


def _run(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return done.stdout


def _database(admin_url: str, name: str) -> str:
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit("FUZZ_DATABASE: a plain name")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def _tokens(base: str) -> dict[str, str]:
    from app.demo.family import DEMO_CODE
    from app.demo.seed import DEMO_STAFF_PASSWORD

    with httpx.Client(base_url=base, timeout=15) as http:
        member = http.post("/auth/wechat/login", json={"code": DEMO_CODE})
        member.raise_for_status()
        tokens = {"member": member.json()["access_token"]}
        for holder, username in (("operator", "demo-operator"), ("charity", "demo-charity")):
            staff = http.post(
                "/auth/staff/login", json={"username": username, "password": DEMO_STAFF_PASSWORD}
            )
            staff.raise_for_status()
            tokens[holder] = staff.json()["access_token"]
    return tokens


def _fuzz(base: str, token: str, include, exclude, seconds: int) -> int:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(max(seconds, 5)),
        # One worker: with threads, hypothesis's lambda descriptions call ast.parse concurrently,
        # which CPython 3.11 can fail ("AST constructor recursion depth mismatch"): a tool crash.
        "--workers",
        "1",
        "--request-timeout",
        "15",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if include:
        command += ["--include-path-regex", include]
    if exclude:
        command += ["--exclude-path-regex", exclude]
    return subprocess.run(command, cwd=ROOT).returncode


def main() -> int:
    budget = int(os.environ.get("FUZZ_SECONDS", "90"))
    workdir = Path(tempfile.mkdtemp(prefix="huimin-fuzz-"))
    admin_url = os.environ.get("FUZZ_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = os.environ.get("FUZZ_DATABASE", "huimin_fuzz")
    redis_url = os.environ.get("FUZZ_REDIS_URL", "redis://127.0.0.1:6379/12")
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    client.flushdb()  # rate-limit counters of an earlier run
    client.close()
    port = _free_port()
    (workdir / "metrics").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FUZZ_", "HUIMIN_"))}
    env.update(
        {
            "HUIMIN_PROFILE": "development",
            "DATABASE_URL": _database(admin_url, name),
            "REDIS_URL": redis_url,
            "STORAGE_LOCAL_DIR": str(workdir / "documents"),
            "METRICS_TOKEN": secrets.token_urlsafe(32),
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "LOG_FORMAT": "json",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        }
    )
    started = time.monotonic()
    service = None
    log_path = workdir / "service.log"
    try:
        _run(env, "db-upgrade")
        _run(env, "demo", "seed")
        with log_path.open("wb") as log:
            service = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(ROOT / "gunicorn.conf.py"),
                    # No request-line limit here: negative cases can be longer than gunicorn's
                    # 8,190 bytes, and its own HTML 414 is the server's answer, not the API's
                    # (gunicorn.conf.py keeps the limit for production).
                    "--limit-request-line",
                    "0",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer /healthz within 30 s")
        tokens = _tokens(base)
        print(f"schemathesis-live: service up in {time.monotonic() - started:.0f}s", flush=True)
        failed = []
        for label, holder, include, exclude, share in GROUPS:
            print(f"schemathesis-live: {label} operations ({holder}'s token)", flush=True)
            if _fuzz(base, tokens[holder], include, exclude, int(budget * share)) != 0:
                failed.append(label)
        errors = [line for line in log_path.read_text().splitlines() if "unhandled error" in line]
        for line in errors[:10]:
            print(f"schemathesis-live: service log: {line[:500]}")
        print(f"schemathesis-live: done in {time.monotonic() - started:.0f}s")
        if failed or errors:
            print(f"schemathesis-live: FAILED: {', '.join(failed) or 'unhandled errors logged'}")
            return 1
        return 0
    finally:
        if service is not None and service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.kill()
        import psycopg

        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
