"""A light HTTP/1.1 load client over raw asyncio sockets (benchmarks only, not a test).

httpx caps near 130-360 requests a second on the shared 2-core machine and takes most of a core
itself (LIBRARY-NOTES.md); this client parses only the status line, Content-Length (or chunked)
and the body, over keep-alive connections, so the same client measures the floor and the project.

    results = asyncio.run(closed_loop(host, port, concurrency=64, jobs=jobs, duration=10))

`jobs` yields one coroutine function per unit of work (an enrollment, one request...); each of
`concurrency` workers holds one connection and runs units one after another (a closed loop: at
most `concurrency` requests in flight). Every request's latency is recorded under its label.

    results = asyncio.run(open_loop(host, port, rate=50, jobs=jobs, label="trial"))

starts a list of jobs at a mean rate instead (Poisson arrivals), however long each takes.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Connection:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, recorder: Recorder | None = None) -> None:
        self.host, self.port, self.recorder = host, port, recorder
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body=None,
        label: str | None = None,
        expect: Iterable[int] = (200, 201),
    ) -> Response:
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body or b'')}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        started = time.perf_counter()
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                response = await self._read()
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        if self.recorder is not None:
            self.recorder.add(label or f"{method} {path}", elapsed, response.status)
        if response.status not in expect:
            raise HttpError(f"{method} {path} -> {response.status} {response.body[:300]!r}")
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read(self) -> Response:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            body = b"".join(chunks)
        elif status in (204, 304):
            body = b""
        else:
            body = await self.reader.read()
            await self.close()
        return Response(status, headers, body)


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, label: str, seconds: float, status: int) -> None:
        self.latencies.setdefault(label, []).append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class RunResult:
    units: int
    errors: int
    seconds: float
    recorder: Recorder
    first_error: str | None = None

    @property
    def units_per_second(self) -> float:
        return self.units / self.seconds

    @property
    def requests_per_second(self) -> float:
        return self.recorder.count() / self.seconds

    def p(self, q: float, label: str | None = None) -> float:
        values = self.recorder.all() if label is None else self.recorder.latencies.get(label, [])
        return percentile(values, q)


Job = Callable[[Connection], Awaitable[object]]


@dataclass
class _Tally:
    """Jobs done and failed (with the first failure's text), for either loop."""

    done: int = 0
    errors: int = 0
    first_error: str | None = None

    async def run(self, job: Job, conn: Connection) -> bool:
        """Run `job` on `conn`; a failure is counted and closes the connection."""
        try:
            await job(conn)
        except Exception as exc:
            self.errors += 1
            if self.first_error is None:
                self.first_error = repr(exc)[:400]
            await conn.close()
            return False
        self.done += 1
        return True

    def result(self, seconds: float, recorder: Recorder) -> RunResult:
        return RunResult(self.done, self.errors, seconds, recorder, self.first_error)


async def closed_loop(
    host: str,
    port: int,
    *,
    concurrency: int,
    jobs: Iterator[Job] | Iterable[Job],
    duration: float | None = None,
    warmup: Iterable[Job] = (),
) -> RunResult:
    """Run `jobs` over `concurrency` connections until they run out or `duration` passes.
    `warmup` jobs run first, unrecorded (opens the connections, warms each worker)."""
    recorder = Recorder()
    iterator = iter(jobs)
    tally = _Tally()
    connections = [Connection(host, port) for _ in range(concurrency)]
    warm = iter(warmup)

    async def warm_worker(conn: Connection) -> None:
        for job in warm:
            try:
                await job(conn)
            except Exception:
                pass

    await asyncio.gather(*(warm_worker(c) for c in connections))
    for conn in connections:
        conn.recorder = recorder
    deadline = None if duration is None else time.perf_counter() + duration

    async def worker(conn: Connection) -> None:
        while deadline is None or time.perf_counter() < deadline:
            try:
                job = next(iterator)
            except StopIteration:
                return
            await tally.run(job, conn)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for conn in connections:
        await conn.close()
    return tally.result(elapsed, recorder)


async def open_loop(
    host: str,
    port: int,
    *,
    rate: float,
    jobs: Sequence[Job],
    label: str,
    max_connections: int = 64,
    seed: int | None = None,
) -> RunResult:
    """Start the `jobs` at random arrival times, `rate` a second on average, whether or not
    earlier ones have finished (an open loop: patients reach the counters independently of how
    fast they are served). The arrivals are a Poisson process given its count: len(jobs) times
    drawn uniformly over len(jobs) / rate seconds, so the rate offered is exactly `rate`.

    Each job runs on an idle keep-alive connection (the one freed last), on a new one while
    fewer than `max_connections` are open, else it waits for the next one freed, first come
    first served. A job's latency runs from its arrival time to its answer or failure, so time
    spent waiting behind a backlog counts (no coordinated omission); every finished job is
    recorded under `label` (a failure also under RunResult.errors). `units_per_second` counts
    jobs answered over the whole run, arrivals and the last answers' drain."""
    recorder = Recorder()
    draw = random.Random(seed)
    span = len(jobs) / rate
    offsets = sorted(draw.uniform(0, span) for _ in jobs)
    loop = asyncio.get_running_loop()
    idle: list[Connection] = []  # a stack: the connection freed last is reused first
    waiting: deque[asyncio.Future[Connection]] = deque()
    opened = 0
    tally = _Tally()

    async def take() -> Connection:
        nonlocal opened
        if idle:
            return idle.pop()
        if opened < max_connections:
            opened += 1
            return Connection(host, port)
        turn: asyncio.Future[Connection] = loop.create_future()
        waiting.append(turn)
        return await turn

    def give(conn: Connection) -> None:
        if waiting:
            waiting.popleft().set_result(conn)
        else:
            idle.append(conn)

    async def run(job: Job, arrival: float) -> None:
        conn = await take()
        try:
            ok = await tally.run(job, conn)
            recorder.add(label, time.perf_counter() - arrival, 200 if ok else 0)
        finally:
            give(conn)

    tasks = []
    started = time.perf_counter()
    for job, offset in zip(jobs, offsets, strict=True):
        delay = started + offset - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(run(job, started + offset)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for conn in idle:
        await conn.close()
    return tally.result(elapsed, recorder)
