"""Two variants of the code in one process, measured in alternating rounds (benchmarks only).

    python -m bench.interleaved --database postgresql+psycopg://postgres@127.0.0.1:5432/NAME \\
        --patch variant.py [--rounds 12] [--per 20]

ALL TABLES OF THAT DATABASE ARE DROPPED. On the shared 2-core machine the same request's CPU
drifts by a fifth between runs a minute apart, more than most single changes save, so two runs one
after the other cannot tell them apart. Here the project is seeded once (as bench.roundtrips seeds
it), then the write floor, the counter's trial and its confirmation each run `rounds` rounds of
`per` requests (confirmations: half as many) through Flask's test client, the variant switched on
in half the rounds, in the order A B B A A B B A ... so that a steady drift (tables growing,
the machine slowing) favours neither: A (the code as it is) and B (the variant) see the same
drift. Each side first serves WARM requests of each scenario unmeasured (psycopg prepares a
statement at its fifth execution). Prints the least and the median CPU milliseconds per
request of each: this process's CPU (the app's), not PostgreSQL's.

`variant.py` is a Python file that defines `enable()` and `disable()`; it is imported after the
app is built and may swap a function for the candidate version, say. B is the code with
`enable()` called, A with `disable()`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM = 10  # requests per scenario and side before the measured rounds
sys.path.insert(0, str(ROOT))


def load_variant(path: str):
    spec = importlib.util.spec_from_file_location("bench_variant", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("enable", "disable"):
        if not callable(getattr(module, name, None)):
            raise SystemExit(f"{path} defines no {name}()")
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--patch", required=True, help="a file defining enable() and disable()")
    parser.add_argument("--rounds", type=int, default=12, help="rounds per scenario (x4)")
    parser.add_argument("--per", type=int, default=20, help="requests per round")
    args = parser.parse_args()
    if args.rounds < 4 or args.rounds % 4:
        parser.error("--rounds must be a multiple of 4 (A B B A blocks)")

    from bench import direct_settlement_bench as ds
    from bench import floor_app, runner

    app = runner.project_app(runner.project_env(args.database, ""))
    stays_needed = args.rounds * (args.per // 2 or 1) + 2 * WARM
    members = runner.seed_project(app, stays_needed)
    pool = iter(members)
    floor_app.setup(args.database, 16)
    os.environ.update(FLOOR_DATABASE_URL=args.database, FLOOR_READ_BYTES="256")
    floor = floor_app.create_app().test_client()
    client = app.test_client()
    stays = ds.insure_and_hospitalise(
        app, [next(pool) for _ in range(stays_needed)], runner.CONSENT["text_version"]
    )
    sign = ds.signer_for(app)
    variant = load_variant(args.patch)

    def post(request: tuple[str, dict, bytes]):
        path, headers, body = request
        response = client.post(path, headers=headers, data=body, content_type="application/json")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    # Signed before any clock starts (signing is the hospital's CPU; a nonce is good once).
    numbers = [post(sign(stay, ds.BASE + "/trial", stay))["trial_no"] for stay in stays]
    wanted = args.rounds * args.per + 2 * WARM
    trials = iter(
        [
            sign(stays[i % len(stays)], ds.BASE + "/trial", stays[i % len(stays)])
            for i in range(wanted)
        ]
    )
    confirms = iter(
        [
            sign(stay, ds.BASE + "/confirm", {"trial_no": number, "setl_sn": f"IL{i:08d}"})
            for i, (stay, number) in enumerate(zip(stays, numbers, strict=True))
        ]
    )

    def floor_write() -> None:
        assert floor.post("/write", json={"amount": 1}).status_code == 200

    scenarios = (
        ("floor POST /write", floor_write, args.per),
        ("ds-trial", lambda: post(next(trials)), args.per),
        ("ds-confirm", lambda: post(next(confirms)), args.per // 2 or 1),
    )
    for name, call, per in scenarios:
        for switch in (variant.disable, variant.enable):
            switch()
            for _ in range(WARM):
                call()
        rounds: dict[str, list[float]] = {"A": [], "B": []}
        for k in range(args.rounds):
            side = "AB"[(k + 1) // 2 % 2]  # A B B A A B B A ...

            (variant.enable if side == "B" else variant.disable)()
            started = time.process_time()
            for _ in range(per):
                call()
            rounds[side].append((time.process_time() - started) * 1000 / per)
        for side, values in rounds.items():
            values.sort()
            print(
                f"{name:20s} {side}  least {values[0]:.2f} ms  median "
                f"{values[len(values) // 2]:.2f} ms  ({len(values)} rounds of {per})",
                flush=True,
            )
    variant.disable()


if __name__ == "__main__":
    main()
