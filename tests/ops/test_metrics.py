"""Prometheus metrics: who may read them, what a request is counted under (the url rule, not the
raw path), the domain counters others call, payments counted where they settle, and the
multiprocess aggregation gunicorn relies on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.ops import metrics
from tests.conftest import bearer, login, verify
from tests.enrollment.conftest import frozen, pay, place_order  # noqa: F401  (frozen: a fixture)

TOKEN = "metrics-token-0123456789abcdef-0123"


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client, token: str = TOKEN, **headers) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics", headers={**bearer(token), **headers})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    found = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


@pytest.fixture
def ops_app(app_factory):
    return app_factory(METRICS_TOKEN=TOKEN)


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789abcdef-0123"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": "Bearer"},
    ],
)
def test_metrics_refuse_anyone_without_the_token(ops_app, headers):
    resp = ops_app.test_client().get("/metrics", headers=headers)

    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["code"] == "metrics_unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "huimin_http_requests_total" not in resp.get_data(as_text=True)


def test_metrics_answer_nobody_when_no_token_is_configured(app):
    assert not app.config["METRICS_TOKEN"]
    for headers in ({}, {"Authorization": "Bearer "}, bearer("")):
        assert app.test_client().get("/metrics", headers=headers).status_code == 401


def test_a_member_token_is_not_the_metrics_token(ops_app):
    client = ops_app.test_client()
    member = login(client, "metrics-member")["access_token"]

    assert client.get("/metrics", headers=bearer(member)).status_code == 401


def test_metrics_with_the_token_are_prometheus_text(ops_app):
    resp = ops_app.test_client().get("/metrics", headers=bearer(TOKEN))

    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    assert "# TYPE huimin_http_requests_total counter" in resp.get_data(as_text=True)


def test_openmetrics_when_the_scraper_asks_for_it(ops_app):
    resp = ops_app.test_client().get(
        "/metrics",
        headers={**bearer(TOKEN), "Accept": "application/openmetrics-text; version=1.0.0"},
    )

    assert resp.status_code == 200
    assert resp.mimetype == "application/openmetrics-text"
    assert resp.get_data(as_text=True).rstrip().endswith("# EOF")


# --- requests ----------------------------------------------------------------------------------


def test_requests_are_counted_by_url_rule_and_status_class(ops_app):
    client = ops_app.test_client()
    member = login(client, "metrics-rule")["access_token"]
    rule = "/orders/<int:order_id>"
    before_4xx = sample("huimin_http_requests_total", route=rule, method="GET", status_class="4xx")

    for order_id in (987654, 987655, 987656):  # three ids, one series
        assert client.get(f"/orders/{order_id}", headers=bearer(member)).status_code == 404

    found = scrape(client)
    key_4xx = (
        "huimin_http_requests_total",
        (("method", "GET"), ("route", rule), ("status_class", "4xx")),
    )
    assert found[key_4xx] == before_4xx + 3
    assert not any("98765" in value for _, labels in found for _, value in labels)
    hist = (
        "huimin_http_request_duration_seconds_count",
        (("method", "GET"), ("route", rule), ("status_class", "4xx")),
    )
    assert found[hist] >= 3


def test_unrouted_paths_share_one_series(ops_app):
    client = ops_app.test_client()
    before = sample(
        "huimin_http_requests_total", route="<unmatched>", method="GET", status_class="4xx"
    )
    for path in ("/no/such/thing", "/360702198503120119", "/wp-login.php"):
        assert client.get(path).status_code == 404

    assert (
        sample("huimin_http_requests_total", route="<unmatched>", method="GET", status_class="4xx")
        == before + 3
    )
    exposition = client.get("/metrics", headers=bearer(TOKEN)).get_data(as_text=True)
    assert "360702198503120119" not in exposition and "wp-login" not in exposition


def test_a_successful_request_is_timed(ops_app):
    client = ops_app.test_client()
    labels = dict(route="/healthz", method="GET", status_class="2xx")
    count = sample("huimin_http_request_duration_seconds_count", **labels)
    total = sample("huimin_http_requests_total", **labels)

    client.get("/healthz")

    assert sample("huimin_http_request_duration_seconds_count", **labels) == count + 1
    assert sample("huimin_http_requests_total", **labels) == total + 1


# --- domain counters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "label"),
    [
        ("personal_account", "personal_account"),  # snake_case word: kept
        ("wechat", "wechat"),
        ("approved2", "approved2"),
        ("Approved", "other"),  # capitals: folded
        ("paid after close", "other"),  # spaces
        ("360702198503120119", "other"),  # starts with a digit (an id number)
        ("x" * 41, "other"),  # longer than 40
        ("", "other"),
        ("审核通过", "other"),
    ],
)
def test_label_values_are_short_snake_case_words_or_other(given, label):
    assert metrics.label(given) == label


def test_domain_counters_count(ops_app):
    before = {
        "claim": sample("huimin_claim_outcomes_total", decision="partially_approved"),
        "paid": sample("huimin_claim_paid_fen_total"),
        "done": sample("huimin_job_rows_total", kind="roster_import", result="done"),
        "failed": sample("huimin_job_rows_total", kind="roster_import", result="failed"),
        "pay": sample("huimin_payment_outcomes_total", method="wechat", outcome="succeeded"),
    }
    metrics.claim_outcome("partially_approved", paid_fen=123_456)
    metrics.job_progress("roster_import", done=40, failed=2)
    metrics.job_progress("roster_import", done=10)
    metrics.payment_outcome("wechat", "succeeded", 8900)

    assert (
        sample("huimin_claim_outcomes_total", decision="partially_approved") == before["claim"] + 1
    )
    assert sample("huimin_claim_paid_fen_total") == before["paid"] + 123_456
    assert (
        sample("huimin_job_rows_total", kind="roster_import", result="done") == before["done"] + 50
    )
    assert (
        sample("huimin_job_rows_total", kind="roster_import", result="failed")
        == before["failed"] + 2
    )
    assert (
        sample("huimin_payment_outcomes_total", method="wechat", outcome="succeeded")
        == before["pay"] + 1
    )


def test_personal_account_payments_are_counted_where_they_settle(client, seeded, residents, frozen):
    method = "personal_account"
    ok_before = sample("huimin_payment_outcomes_total", method=method, outcome="succeeded")
    fen_before = sample("huimin_payment_amount_fen_total", method=method, outcome="succeeded")
    failed_before = sample("huimin_payment_outcomes_total", method=method, outcome="failed")

    zhang = login(client, "metrics-zhang")["access_token"]
    assert verify(client, zhang, residents["张伟"]).status_code == 200
    order = place_order(client, {"token": zhang}, [], True, method)
    assert pay(client, {"token": zhang}, order["id"]).get_json()["state"] == "paid"

    sun = login(client, "metrics-sun")["access_token"]  # 孙丽: an empty personal account
    assert verify(client, sun, residents["孙丽"]).status_code == 200
    # Ordered for WeChat (the quote refuses her empty account up front), then tried on the
    # account at payment: the bureau's refusal is a failed personal-account payment.
    order = place_order(client, {"token": sun}, [], True, "wechat")
    refused = pay(client, {"token": sun}, order["id"])
    assert refused.status_code == 422, refused.get_json()

    assert (
        sample("huimin_payment_outcomes_total", method=method, outcome="succeeded") == ok_before + 1
    )
    assert (
        sample("huimin_payment_amount_fen_total", method=method, outcome="succeeded")
        == fen_before + 8900
    )
    assert (
        sample("huimin_payment_outcomes_total", method=method, outcome="failed")
        == failed_before + 1
    )


# --- gunicorn: several processes, one exposition -----------------------------------------------


def test_multiprocess_mode_aggregates_every_worker(tmp_path):
    """What gunicorn does: each worker process counts into files under PROMETHEUS_MULTIPROC_DIR;
    the worker that answers the scrape reports the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = textwrap.dedent("""
        from app.ops import metrics
        metrics.payment_outcome("wechat", "succeeded", 100)
        metrics.observe_request("/healthz", "GET", 200, 0.01)
    """)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)
    scrape_script = "from app.ops import metrics; print(metrics.exposition(None)[0].decode())"
    out = subprocess.run(
        [sys.executable, "-c", scrape_script],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout

    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    assert (
        values[("huimin_payment_outcomes_total", (("method", "wechat"), ("outcome", "succeeded")))]
        == 2
    )
    assert (
        values[
            ("huimin_payment_amount_fen_total", (("method", "wechat"), ("outcome", "succeeded")))
        ]
        == 200
    )
    assert (
        values[
            (
                "huimin_http_requests_total",
                (("method", "GET"), ("route", "/healthz"), ("status_class", "2xx")),
            )
        ]
        == 2
    )
