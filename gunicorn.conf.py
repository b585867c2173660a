"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

gunicorn reads this file in the master process; every module-level name below is a setting, so
helpers are underscored. Environment variables (all optional):

    PORT / BIND            where to listen: BIND wins (e.g. "unix:/run/huimin.sock"), else
                           0.0.0.0:$PORT (default 8000)
    WEB_CONCURRENCY        worker processes; default 2 x cores + 1, at most 8 (each worker holds
                           its own database pool, and PostgreSQL connections are the scarce thing)
    GUNICORN_THREADS       threads per worker (gthread), default 4: requests mostly wait on
                           PostgreSQL, the bureau and WeChat, so threads are cheap concurrency
    GUNICORN_WORKER_CONNECTIONS  connections one worker holds at once, default 4 x threads (see
                           worker_connections below)
    GUNICORN_TIMEOUT       seconds a worker may be silent before the master kills it (default 30;
                           outbound calls time out after HTTP_TIMEOUT_SECONDS = 5 s each)
    FORWARDED_ALLOW_IPS    proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1:
                           the reverse proxy on the same host); the application reads the same
                           variable, with PROXY_HOPS, to take the client's address from
                           X-Forwarded-For for rate limits (app/proxy.py)
    PROMETHEUS_MULTIPROC_DIR  where workers write their metrics (see below)
    MALLOC_ARENA_MAX       malloc arenas per worker, default 2 (app/ops/memory.py: threads
                           decoding photos otherwise keep one high-water mark each)

Access log: off. The application writes one request line itself (app/ops/logs.py) with the url
rule, status, duration, request id and member or staff id, as JSON in production, and never the
raw path or query string, which can carry tokens; gunicorn's access log would duplicate it
without those guarantees. gunicorn's own error log goes to stderr, in JSON when LOG_FORMAT=json.

Metrics: each worker is its own process, so prometheus_client runs in multiprocess mode: workers
write their counters to files in PROMETHEUS_MULTIPROC_DIR and whichever worker answers
GET /metrics adds up all of them. When the variable is not set, a private temporary directory is
created here, before any worker starts (the library chooses its mode at import, in the worker);
it is emptied at start, since counters from an earlier run would be added to this one, and
removed at exit when it was created here. `child_exit` tells the library that a worker died, so
its live gauges stop being reported (max_requests recycles workers routinely).
"""

from __future__ import annotations

import os as _os
import shutil as _shutil
import tempfile as _tempfile

_MAX_WORKERS = 8


def _int_env(name: str, default: int) -> int:
    value = _os.environ.get(name, "").strip()
    return int(value) if value else default


def _default_workers() -> int:
    return min(2 * (_os.cpu_count() or 1) + 1, _MAX_WORKERS)


bind = [_os.environ.get("BIND") or f"0.0.0.0:{_int_env('PORT', 8000)}"]
workers = max(1, _int_env("WEB_CONCURRENCY", _default_workers()))
worker_class = "gthread"
threads = max(1, _int_env("GUNICORN_THREADS", 4))
timeout = _int_env("GUNICORN_TIMEOUT", 30)
# On SIGTERM, workers finish the requests they hold for up to this long (a personal-account
# debit in flight completes rather than being left for reconciliation).
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# How many connections one worker holds at once (in service or kept alive). Past it the worker
# stops accepting, and new connections wait in the listen queue for a worker with room. Without
# a cap (gunicorn's default is 1,000) one worker may take most of the keep-alive clients while
# others idle: measured with 64 persistent clients (bench/run --only direct_settlement), one
# worker held about 40 of them and their requests took 1.4 s against 50-400 ms on the others;
# with the cap every client's mean was within 130-535 ms. Four per thread keeps every thread
# busy with a short queue behind it. Needs gunicorn 27's event loop, which goes on serving its
# kept-alive connections while it is full (pyproject.toml).
worker_connections = _int_env("GUNICORN_WORKER_CONNECTIONS", 4 * threads)
# The longest request line gunicorn reads (its maximum; the default is 4094). Every query field
# is bounded far below it, so an over-long field reaches the app and gets its coded 422; a line
# longer than this is answered by gunicorn itself (414, HTML), as a proxy in front would.
limit_request_line = 8190
# Recycle workers now and then (bounded memory growth); the jitter keeps them from all
# restarting at once.
max_requests = _int_env("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int_env("GUNICORN_MAX_REQUESTS_JITTER", 200)
forwarded_allow_ips = _os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
errorlog = "-"
loglevel = _os.environ.get("LOG_LEVEL", "info").lower()
# Heartbeat files in memory, not on a possibly slow container disk.
worker_tmp_dir = "/dev/shm" if _os.path.isdir("/dev/shm") else None
# The master imports and builds the app once and workers fork from it: a worker starts (and a
# recycled one restarts, every max_requests) in milliseconds instead of the ~1.3 CPU-seconds of
# importing and building the app (bench/run measures both). The multiprocess directory is set
# above, before the app is imported; prometheus_client resets its files in a forked process, and
# post_fork below drops the database connections a worker must not share with the master.
preload_app = True
# gunicorn 25+'s runtime control socket defaults to one path per user ($HOME/.gunicorn), which two
# services on a host would share; nothing here uses gunicornc. Older gunicorns ignore the name.
control_socket_disable = True
proc_name = "huimin"

if (
    _os.environ.get(
        "LOG_FORMAT", "json" if _os.environ.get("HUIMIN_PROFILE") == "production" else "text"
    ).lower()
    == "json"
):
    # Replaces gunicorn's defaults key by key: the root logger gets no handler (the application
    # installs its own JSON one in each worker, app/logging_setup.py), gunicorn's error log is
    # JSON, and its access log, which a logging config switches on, is discarded.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": loglevel.upper(), "handlers": []},
        "formatters": {"json": {"()": "app.ops.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
            "discard": {"class": "logging.NullHandler"},
        },
        "loggers": {
            "gunicorn.error": {
                "handlers": ["stderr"],
                "level": loglevel.upper(),
                "propagate": False,
            },
            "gunicorn.access": {"handlers": ["discard"], "level": "INFO", "propagate": False},
        },
    }

_created_multiproc_dir: str | None = None
if not _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created_multiproc_dir = _tempfile.mkdtemp(prefix="huimin-metrics-")
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_multiproc_dir


def on_starting(server) -> None:
    """Master, before the first fork: counters from an earlier run must not be added to this one."""
    directory = _os.environ["PROMETHEUS_MULTIPROC_DIR"]
    _os.makedirs(directory, exist_ok=True)
    for name in _os.listdir(directory):
        if name.endswith(".db"):
            _os.remove(_os.path.join(directory, name))


def post_fork(server, worker) -> None:
    """Worker, just forked: fewer malloc arenas (app/ops/memory.py); and, when the master built
    the app (preload_app), forget the pool's connections inherited from the master without
    closing them (the master's, not ours; it opens none while building the app, so this is a
    guard, as SQLAlchemy advises)."""
    from app.ops.memory import limit_malloc_arenas

    limit_malloc_arenas(_int_env("MALLOC_ARENA_MAX", 2))
    app = getattr(getattr(server, "app", None), "callable", None)
    engine = getattr(app, "extensions", {}).get("db_engine") if app is not None else None
    if engine is not None:
        engine.dispose(close=False)


def child_exit(server, worker) -> None:
    """Master, after a worker exited (crash, timeout, max_requests): drop its live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _created_multiproc_dir:
        _shutil.rmtree(_created_multiproc_dir, ignore_errors=True)
