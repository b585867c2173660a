"""gunicorn.conf.py: settings from the environment, and the Prometheus multiprocess bookkeeping
its hooks do (the production smoke run, scripts/smoke, starts gunicorn with it for real)."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
_VARIABLES = (
    "PORT",
    "BIND",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "FORWARDED_ALLOW_IPS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "HUIMIN_PROFILE",
    "PROMETHEUS_MULTIPROC_DIR",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_WORKER_CONNECTIONS",
)


@pytest.fixture
def load(monkeypatch, tmp_path):
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    def _load(**env) -> dict:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONF))

    return _load


@pytest.mark.parametrize(
    ("cores", "workers"),
    [
        (1, 3),  # 2 x 1 + 1
        (2, 5),  # 2 x 2 + 1
        (3, 7),  # 2 x 3 + 1
        (4, 8),  # 2 x 4 + 1 = 9, capped at 8
        (64, 8),  # capped
        (None, 3),  # cpu_count() unknown: counted as 1
    ],
)
def test_default_workers_are_two_per_core_plus_one_capped(load, monkeypatch, cores, workers):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert load()["workers"] == workers


def test_defaults(load):
    conf = load()
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["worker_class"] == "gthread" and conf["threads"] == 4
    # a worker holds at most 4 connections per thread: no worker hoards the keep-alive clients
    assert conf["worker_connections"] == 16
    assert conf["timeout"] == 30 and conf["graceful_timeout"] == 30
    assert conf["max_requests"] == 2000 and conf["max_requests_jitter"] == 200
    assert conf["forwarded_allow_ips"] == "127.0.0.1"
    assert conf["accesslog"] is None and conf["errorlog"] == "-"
    assert conf["preload_app"] is True  # workers fork from the built app (no boot per recycle)
    assert "logconfig_dict" not in conf  # text logs outside production


def test_environment_overrides(load):
    conf = load(
        PORT="9123",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="60",
        FORWARDED_ALLOW_IPS="10.0.0.1,10.0.0.2",
    )
    assert conf["bind"] == ["0.0.0.0:9123"]
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (2, 8, 60)
    assert conf["worker_connections"] == 32  # follows the threads
    assert load(GUNICORN_WORKER_CONNECTIONS="100")["worker_connections"] == 100
    assert conf["forwarded_allow_ips"] == "10.0.0.1,10.0.0.2"
    assert load(BIND="unix:/run/huimin.sock", PORT="9123")["bind"] == ["unix:/run/huimin.sock"]


def test_production_logs_gunicorn_itself_as_json(load):
    conf = load(HUIMIN_PROFILE="production")
    formatter = conf["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "app.ops.logs.JsonFormatter"
    loggers = conf["logconfig_dict"]["loggers"]
    assert loggers["gunicorn.error"]["handlers"] == ["stderr"]
    assert loggers["gunicorn.access"] == {
        "handlers": ["discard"],
        "level": "INFO",
        "propagate": False,
    }
    # No handler on the root logger, so each worker's app installs its JSON one.
    assert conf["logconfig_dict"]["root"]["handlers"] == []
    assert "logconfig_dict" not in load(HUIMIN_PROFILE="production", LOG_FORMAT="text")


def test_on_starting_empties_the_metrics_directory(load, tmp_path):
    conf = load()
    stale = [tmp_path / "counter_111.db", tmp_path / "histogram_111.db"]
    for path in stale:
        path.write_bytes(b"stale")
    keep = tmp_path / "README"
    keep.write_text("not a metrics file")

    conf["on_starting"](SimpleNamespace())

    assert not any(path.exists() for path in stale) and keep.exists()


def test_child_exit_drops_the_dead_workers_live_gauges(load, tmp_path):
    conf = load()
    dead, alive = tmp_path / "gauge_livesum_4242.db", tmp_path / "gauge_livesum_4343.db"
    counter = tmp_path / "counter_4242.db"  # counters of a dead worker still count
    for path in (dead, alive, counter):
        path.write_bytes(b"")

    conf["child_exit"](SimpleNamespace(), SimpleNamespace(pid=4242))

    assert not dead.exists() and alive.exists() and counter.exists()


def test_a_private_metrics_directory_when_none_is_given(load, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    conf = load()
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert directory.is_dir() and directory.name.startswith("huimin-metrics-")

    conf["on_exit"](SimpleNamespace())

    assert not directory.exists()


def test_each_worker_limits_its_malloc_arenas(load, monkeypatch):
    from app.ops import memory

    asked = []
    monkeypatch.setattr(memory, "limit_malloc_arenas", asked.append)
    conf = load()
    conf["post_fork"](SimpleNamespace(), SimpleNamespace(pid=4242))
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    conf["post_fork"](SimpleNamespace(), SimpleNamespace(pid=4243))
    assert asked == [2, 4]


def test_limiting_malloc_arenas_takes_on_glibc():
    import platform

    from app.ops.memory import limit_malloc_arenas

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert limit_malloc_arenas(2) is True


def test_post_fork_drops_the_inherited_pool_without_closing_it(load):
    conf = load()
    disposed = []

    class Engine:
        def dispose(self, close=True):
            disposed.append(close)

    app = SimpleNamespace(extensions={"db_engine": Engine()})
    conf["post_fork"](SimpleNamespace(app=SimpleNamespace(callable=app)), SimpleNamespace())
    assert disposed == [False]
    conf["post_fork"](SimpleNamespace(app=SimpleNamespace()), SimpleNamespace())  # not preloaded
    assert disposed == [False]
