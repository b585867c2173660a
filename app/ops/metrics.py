"""Prometheus metrics: HTTP requests per route, and domain counters other packages call.

Requests are labelled by the url rule (`/orders/<int:order_id>`), never the raw path, so ids do
not explode the number of series; anything unrouted is `<unmatched>`. Domain code calls the plain
functions below (`payment_outcome`, `claim_outcome`, `job_progress`) and never touches
prometheus_client itself, so label values are checked in one place.

Under gunicorn with several workers every worker counts on its own. prometheus_client's
multiprocess mode (chosen by the library at import time when `PROMETHEUS_MULTIPROC_DIR` is in the
environment; gunicorn.conf.py sets it up) has each worker write its values to files in that
directory, and `exposition()` aggregates all of them, so whichever worker answers a scrape
reports the whole service.
"""

from __future__ import annotations

import os
import re

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

UNMATCHED_ROUTE = "<unmatched>"
OTHER = "other"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Label values from callers: short snake_case words. Anything else (a typo, a free-text reason,
# an id) is folded into "other" rather than becoming a new series.
_LABEL = re.compile(r"[a-z][a-z0-9_]{0,39}")

HTTP_REQUESTS = Counter(
    "huimin_http_requests_total",
    "HTTP requests answered, by route, method and status class.",
    ("route", "method", "status_class"),
)
HTTP_LATENCY = Histogram(
    "huimin_http_request_duration_seconds",
    "Time from the request reaching Flask to the response leaving it.",
    ("route", "method", "status_class"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PAYMENT_OUTCOMES = Counter(
    "huimin_payment_outcomes_total",
    "Payments settled, by method and outcome.",
    ("method", "outcome"),
)
PAYMENT_AMOUNT = Counter(
    "huimin_payment_amount_fen_total",
    "Amounts of settled payments in fen (succeeded: received; failed: not received).",
    ("method", "outcome"),
)
CLAIM_OUTCOMES = Counter(
    "huimin_claim_outcomes_total",
    "Claims decided, by decision.",
    ("decision",),
)
CLAIM_PAID = Counter(
    "huimin_claim_paid_fen_total",
    "Money paid out on claims, in fen.",
    (),
)
CLAIM_PAYOUTS = Counter(
    "huimin_claim_payouts_total",
    "Claim transfers answered by the bank: succeeded, retrying (a transient failure, sent again "
    "later) or failed (the claim went back to review), by failure code.",
    ("outcome", "failure"),
)
JOB_ROWS = Counter(
    "huimin_job_rows_total",
    "Rows processed by long-running jobs, by job kind and result.",
    ("kind", "result"),
)


def label(value: object) -> str:
    """A caller-supplied label value, or "other" when it is not a short snake_case word."""
    text = str(value)
    return text if _LABEL.fullmatch(text) else OTHER


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else OTHER


def observe_request(route: str | None, method: str, status: int, seconds: float) -> None:
    labels = (
        route or UNMATCHED_ROUTE,
        method if method in _METHODS else OTHER,
        status_class(status),
    )
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_LATENCY.labels(*labels).observe(max(seconds, 0.0))


def payment_outcome(method: str, outcome: str, amount_fen: int = 0) -> None:
    """A payment settled: `method` personal_account | wechat | ..., `outcome` succeeded | failed."""
    PAYMENT_OUTCOMES.labels(label(method), label(outcome)).inc()
    if amount_fen > 0:
        PAYMENT_AMOUNT.labels(label(method), label(outcome)).inc(amount_fen)


def claim_outcome(decision: str, paid_fen: int = 0) -> None:
    """A claim decided (e.g. approved, partially_approved, denied, referred)."""
    CLAIM_OUTCOMES.labels(label(decision)).inc()
    if paid_fen > 0:
        CLAIM_PAID.inc(paid_fen)


def payout_outcome(outcome: str, failure_code: str | None = None) -> None:
    """A claim transfer's answer: `outcome` succeeded | retrying | failed; `failure_code` the
    bank's (ACCOUNT_CLOSED, ...), as a label only when it is a short word."""
    CLAIM_PAYOUTS.labels(label(outcome), label((failure_code or "none").lower())).inc()


def job_progress(kind: str, done: int = 0, failed: int = 0) -> None:
    """A long job (roster import, batch enrollment, ...) finished `done` more rows and failed
    `failed` more since its last report."""
    if done > 0:
        JOB_ROWS.labels(label(kind), "done").inc(done)
    if failed > 0:
        JOB_ROWS.labels(label(kind), "failed").inc(failed)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def exposition(accept_header: str | None) -> tuple[bytes, str]:
    """The scrape body and its content type (OpenMetrics when the scraper asks for it)."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    encoder, content_type = choose_encoder(accept_header or "")
    return encoder(registry), content_type
