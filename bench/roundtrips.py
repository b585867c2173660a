"""Database round trips and CPU of one request, in process (no gunicorn, no load): issue 13.

    python -m bench.roundtrips --database postgresql+psycopg://postgres@127.0.0.1:5432/NAME

ALL TABLES OF THAT DATABASE ARE DROPPED. The app is bench/project_wsgi.py's, seeded as bench/run
seeds it (products, sandbox residents, members, the statistics counters of a year of 1M
policies, folded). Then, per request, with Flask's test client:

- round trips to PostgreSQL: every message psycopg sends and waits an answer for (a statement,
  and the BEGIN, COMMIT and ROLLBACK it sends by itself; the pool's pre-ping is a statement);
- SQLAlchemy's statements, commits, rollbacks and pool checkouts (events, as
  tests/enrollment/test_statement_budget.py counts them);
- CPU milliseconds per request (process time, averaged over --repeat requests).

Scenarios: GET /public/statistics (200 after the first, and 304 with the ETag), and POST
/me/identity for a fresh member each time, then POST /quotes (the verify + quote unit of
bench/run). `--profile NAME` prints cProfile's top functions for one scenario.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class RoundTrips:
    """Counts psycopg's sends that wait for an answer: its `execute` generator runs once per
    message sent (cursor statements and the connection's own BEGIN/COMMIT/ROLLBACK)."""

    def __init__(self) -> None:
        self.count = 0
        self.trace = False

    def install(self) -> None:
        import psycopg._connection_base as connection_base
        import psycopg._cursor_base as cursor_base
        from psycopg import generators

        original = generators.execute

        def counted(pgconn):
            self.count += 1
            return original(pgconn)

        command, start = (
            connection_base.BaseConnection._exec_command,
            cursor_base.BaseCursor._start_query,
        )

        def traced_command(conn, cmd, *args, **kwargs):
            if self.trace:
                print("     command  ", cmd)
            return command(conn, cmd, *args, **kwargs)

        def traced_start(cursor, query=None):
            if self.trace and query is not None:
                print("     statement", " ".join(str(query).split())[:100])
            return start(cursor, query)

        connection_base.BaseConnection._exec_command = traced_command
        cursor_base.BaseCursor._start_query = traced_start

        generators.execute = counted  # the connection's commands (BEGIN, COMMIT, ROLLBACK)
        cursor_base.execute = counted  # statements (the name imported into the cursor module)
        assert connection_base.generators is generators


class Events:
    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.now: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", lambda *a: self._bump("statements"))
        event.listen(engine, "commit", lambda *a: self._bump("commits"))
        event.listen(engine, "rollback", lambda *a: self._bump("rollbacks"))
        event.listen(engine.pool, "checkout", lambda *a: self._bump("checkouts"))

    def _bump(self, what: str) -> None:
        self.now[what] += 1


class ServerCpu:
    """CPU seconds used by the PostgreSQL backends serving a database (/proc, same host), read
    over a connection of its own whose backend is left out."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(
            url.replace("postgresql+psycopg", "postgresql"), autocommit=True
        )
        self.database = self.conn.info.dbname

    def seconds(self, trips: RoundTrips) -> float:
        counted = trips.count  # this connection's own round trips are not the request's
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ).fetchall()
        total = 0.0
        for (pid,) in rows:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        trips.count = counted
        return total


def measure(
    name: str, call: Callable[[int], object], repeat: int, trips: RoundTrips, events, server
):
    call(-1)  # warm: caches, the first body of a version
    trips.count = 0
    events.now = Counter()
    rounds, server_rounds = [], []  # the least of 5: other processes only add to it
    for _round in range(5):
        server_started, started = server.seconds(trips), time.process_time()
        for n in range(repeat):
            call(n)
        rounds.append((time.process_time() - started) * 1000 / repeat)
        server_rounds.append((server.seconds(trips) - server_started) * 1000 / repeat)
    cpu_ms = min(rounds)
    repeat *= 5
    per = {k: v / repeat for k, v in sorted(events.now.items())}
    print(
        f"{name:32s} round trips {trips.count / repeat:5.1f}  "
        + "  ".join(f"{k} {v:.1f}" for k, v in per.items())
        + f"  cpu {cpu_ms:.1f} ms, server cpu {min(server_rounds):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--redis-url", default="", help="rate-limit storage (default: memory)")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative | tottime")
    parser.add_argument("--trace", action="store_true", help="print each round trip of one request")
    parser.add_argument(
        "--profile",
        default="",
        help="statistics | statistics304 | verify | verify+quote | ds-trial | ds-confirm",
    )
    parser.add_argument(
        "--only", default="", help="comma list of scenarios (default: all), e.g. ds-trial"
    )
    args = parser.parse_args()

    from bench import runner

    env = runner.project_env(args.database, args.redis_url)
    app = runner.project_app(env)
    stays_needed = 5 * args.repeat + 2  # one stay per confirmation (the warm-up's too)
    members = runner.seed_project(app, 2 * 5 * args.repeat + 40 + stays_needed)
    runner.seed_statistics(app)
    runner.fold(app)
    runner.issue_tokens(app, members)
    pool = iter(members)

    from app.database import get_engine

    with app.app_context():
        engine = get_engine()
    trips = RoundTrips()
    trips.install()
    events = Events(engine)
    client = app.test_client()
    etag = client.get("/public/statistics").headers["ETag"]

    def statistics(_n):
        response = client.get("/public/statistics")
        assert response.status_code == 200, response.status_code

    def statistics304(_n):
        response = client.get("/public/statistics", headers={"If-None-Match": etag})
        assert response.status_code == 304, response.status_code

    def verify_only(_n):
        m = next(pool)
        response = client.post(
            "/me/identity",
            headers={"Authorization": f"Bearer {m.token}"},
            json={"name": m.name, "id_number": m.certno, "consent": runner.CONSENT},
        )
        assert response.status_code == 200, response.get_json()
        return m

    def verify(n):
        m = verify_only(n)
        quote = client.post("/quotes", headers={"Authorization": f"Bearer {m.token}"}, json={})
        assert quote.status_code == 200, quote.get_json()

    from sqlalchemy import func, select

    from app.database import read_scope
    from app.disclosure.models import DisclosureCounter
    from bench import floor_app

    with app.app_context(), read_scope() as session:
        counter_rows = session.scalar(select(func.count()).select_from(DisclosureCounter))
    floor_app.setup(args.database, counter_rows or 1)
    os.environ.update(
        FLOOR_DATABASE_URL=args.database,
        FLOOR_READ_BYTES=str(len(client.get("/public/statistics").data)),
    )
    floor = floor_app.create_app().test_client()

    def floor_read(_n):
        response = floor.get("/read")
        assert response.status_code == 200, response.status_code

    def floor_write(_n):
        response = floor.post("/write", json={"amount": 1})
        assert response.status_code == 200, response.status_code

    from bench import direct_settlement_bench as ds

    stays = ds.insure_and_hospitalise(
        app, [next(pool) for _ in range(stays_needed)], runner.CONSENT["text_version"]
    )
    sign = ds.signer_for(app)

    def post(request: tuple[str, dict, bytes]):
        path, headers, body = request
        return client.post(path, headers=headers, data=body, content_type="application/json")

    # Every request is signed before any clock starts (the client's signing is not the server's
    # CPU; a nonce is good once). First one trial per stay, whose number its confirmation names.
    trial_numbers = []
    for stay in stays:
        response = post(sign(stay, ds.BASE + "/trial", stay))
        assert response.status_code == 200, response.get_json()
        trial_numbers.append(response.get_json()["trial_no"])
    trials = iter([sign(stay, ds.BASE + "/trial", stay) for stay in stays * 6])
    confirms = iter(
        [
            sign(stay, ds.BASE + "/confirm", {"trial_no": number, "setl_sn": f"RT{i:08d}"})
            for i, (stay, number) in enumerate(zip(stays, trial_numbers))
        ]
    )

    def ds_trial(_n):
        response = post(next(trials))
        assert response.status_code == 200, response.get_json()

    def ds_confirm(_n):
        response = post(next(confirms))
        assert response.status_code == 200, response.get_json()

    scenarios = {
        "floor GET /read": floor_read,
        "floor POST /write": floor_write,
        "statistics": statistics,
        "statistics304": statistics304,
        "verify": verify_only,
        "verify+quote": verify,
        "ds-trial": ds_trial,
        "ds-confirm": ds_confirm,
    }
    if args.only:
        scenarios = {k: v for k, v in scenarios.items() if k in args.only.split(",")}
    if args.trace:
        for name, call in scenarios.items():
            call(-1)
            print(name)
            trips.trace = True
            call(-1)
            trips.trace = False
        return
    if args.profile and args.sort == "tree":  # pyinstrument's call tree, if installed
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for n in range(args.repeat):
            scenarios[args.profile](n)
        profiler.stop()
        print(profiler.output_text(unicode=False, show_all=False))
        return
    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for PostgreSQL
        profiler.enable()
        for n in range(args.repeat):
            scenarios[args.profile](n)
        profiler.disable()
        stats = pstats.Stats(profiler)
        if args.sort == "package":  # own CPU per package, per request
            by: Counter[str] = Counter()
            for (path, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
                parts = path.split("site-packages/")
                by[
                    parts[1].split("/")[0]
                    if len(parts) > 1
                    else path.split("/work/main/")[-1].split("/")[0]
                ] += row[2]
            for name, seconds in by.most_common(20):
                print(f"{seconds * 1000 / args.repeat:7.2f} ms  {name}")
            return
        stats.sort_stats(args.sort).print_stats(int(os.environ.get("PROFILE_LINES", "40")))
        return
    half = args.repeat // 2
    server = ServerCpu(args.database)
    for name, call in scenarios.items():
        count = half if name.startswith("verify") else args.repeat
        measure(name, call, count, trips, events, server)


if __name__ == "__main__":
    main()
