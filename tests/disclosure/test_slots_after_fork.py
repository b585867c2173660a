"""Counter slots are drawn independently in every forked worker: gunicorn forks its workers
from a preloaded app, and a generator seeded once at import drew the same slot sequence in every
worker, so concurrent payments in different workers met on the same counter rows (the quiet
bench showed 0.11-0.23 backends waiting on them at 64 in flight)."""

from __future__ import annotations

import os

from app.disclosure import aggregates


def _draws_in_child(app, count: int) -> list[int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, write, leave without running any cleanup
        try:
            with app.app_context():
                line = ",".join(str(aggregates._slot()) for _ in range(count))
            os.write(write_end, line.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return [int(n) for n in data.split(",")]


def test_forked_workers_draw_different_slots(app):
    app.config["DISCLOSURE_COUNTER_SLOTS"] = 16
    first, second = _draws_in_child(app, 40), _draws_in_child(app, 40)
    assert len(first) == len(second) == 40
    assert all(0 <= n < 16 for n in first + second)
    # The same 40 draws from 16 slots by chance: 16**-40.
    assert first != second
