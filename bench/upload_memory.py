"""Benchmark (not a test): peak memory of one worker process handling 20 concurrent uploads of a
maximum-size photo (a 48-megapixel JPEG just under DOCUMENT_MAX_BYTES).

    PYTHONPATH=. .venv/bin/python bench/upload_memory.py [--uploads 20] [--members 20]

It makes the photo once (8064 x 6048, noisy enough to be ~8-10 MB, like a phone's), then runs,
each in a fresh Python process so that the peak belongs to that run alone:

Each child limits malloc arenas as gunicorn.conf.py's post_fork does in a worker.

- `baseline`: the app built and the photo read, no upload processed (what any worker holds);
- `capped`: the shipped settings: `--uploads` threads at once, each with its own copy of the
  bytes (as a request body is), call `app.documents.store.store()`, the path every upload takes:
  the caps on concurrent work (app/documents/throttle.py), the sanitise with its bounded decode
  (DOCUMENT_DECODE_MAX_PIXELS), encryption and the write to local storage;
- `uncapped`: the same with the caps and the decode bound lifted (DOCUMENT_WORK_SLOTS and
  DOCUMENT_WORK_PER_MEMBER = uploads, DOCUMENT_DECODE_MAX_PIXELS = DOCUMENT_MAX_PIXELS): how the
  code behaved before them.

For each it prints the process's peak resident set (VmHWM from /proc/self/status, Linux), the
wall time, and what the uploads were answered (stored, or the refusal's code). `--members 1`
sends them all as one member (the issue's case: the per-member cap refuses all but two).
Threads in one process are the worst case for memory: gunicorn's gthread worker runs at most
GUNICORN_THREADS (4) requests at once. The result is recorded in docs/ratelimits.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_photo(path: Path, max_bytes: int) -> None:
    from PIL import Image, ImageChops

    width, height = 8064, 6048  # 48.8 MP, under DOCUMENT_MAX_PIXELS (50 MP)
    noise = Image.effect_noise((width, height), 24)
    gradient = Image.linear_gradient("L").resize((width, height))
    photo = Image.merge("RGB", (ImageChops.add(noise, gradient, scale=2.0), gradient, noise))
    for quality in range(88, 40, -4):  # the best quality that fits: a maximum-size upload
        out = io.BytesIO()
        photo.save(out, "JPEG", quality=quality)
        if out.tell() <= max_bytes:
            path.write_bytes(out.getvalue())
            return
    raise SystemExit("could not fit the photo under DOCUMENT_MAX_BYTES")


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def run_mode(mode: str, photo: Path, uploads: int, members: int) -> dict:
    """In this (fresh) process: build the app, process the uploads, report."""
    from app import create_app
    from app.config import testing_config
    from app.documents import store as stored
    from app.errors import DomainError
    from app.ops.memory import limit_malloc_arenas

    # As gunicorn.conf.py's post_fork does in each worker.
    limit_malloc_arenas(2)
    cfg = testing_config()
    cfg.DATABASE_URL = "sqlite://"
    cfg.STORAGE_LOCAL_DIR = tempfile.mkdtemp(prefix="huimin-bench-docs-")
    if mode == "uncapped":
        cfg.DOCUMENT_WORK_SLOTS = cfg.DOCUMENT_WORK_PER_MEMBER = uploads
        cfg.DOCUMENT_DECODE_MAX_PIXELS = cfg.DOCUMENT_MAX_PIXELS
    # Long enough that no upload is refused for waiting: the figure is about memory.
    cfg.DOCUMENT_WORK_WAIT_SECONDS = 600.0
    app = create_app(cfg)
    data = photo.read_bytes()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(uploads)

    def upload(i: int) -> None:
        body = bytes(bytearray(data))  # each request has its own body
        with app.app_context():
            start.wait()
            try:
                stored.store(body, "image/jpeg", f"bench/{mode}/{i}", owner=f"member:{i % members}")
                outcome = "stored"
            except DomainError as exc:
                outcome = exc.code
        with lock:
            outcomes[outcome] += 1

    started = time.perf_counter()
    if mode != "baseline":
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(uploads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {
        "mode": mode,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "seconds": round(time.perf_counter() - started, 1),
        "outcomes": dict(outcomes),
        "photo_bytes": len(data),
        "decode_max_pixels": app.config["DOCUMENT_DECODE_MAX_PIXELS"],
        "slots": app.config["DOCUMENT_WORK_SLOTS"],
        "per_member": app.config["DOCUMENT_WORK_PER_MEMBER"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--members", type=int, default=20, help="uploads are spread over these")
    parser.add_argument("--modes", default="baseline,capped,uncapped")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--photo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_mode(args.child, Path(args.photo), args.uploads, args.members)
        print(json.dumps(result))
        return

    from app.config import Config

    with tempfile.TemporaryDirectory(prefix="huimin-bench-") as tmp:
        photo = Path(tmp) / "photo.jpg"
        make_photo(photo, Config.DOCUMENT_MAX_BYTES)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
        print(f"{args.uploads} concurrent uploads from {args.members} member(s), 8064x6048 JPEG")
        print(f"{'mode':<10} {'peak RSS MiB':>12} {'seconds':>8}  outcomes")
        for mode in args.modes.split(","):
            child = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--photo", str(photo)]
                + ["--uploads", str(args.uploads), "--members", str(args.members)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"{mode:<10} {result['peak_rss_mib']:>12} {result['seconds']:>8}  "
                f"{result['outcomes']} (photo {result['photo_bytes']:,} bytes, decode max "
                f"{result['decode_max_pixels']:,} px, slots {result['slots']}, per member "
                f"{result['per_member']})"
            )


if __name__ == "__main__":
    main()
