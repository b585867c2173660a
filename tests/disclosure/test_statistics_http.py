"""GET /public/statistics after the mixed scenario (tests/disclosure/conftest.py): the figures
equal a recomputation from the raw tables, small cells are suppressed without being recoverable,
nothing personal is published, and the answer is cacheable (ETag, 304)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.database import get_session
from app.disclosure.metrics import FUNDING_SOURCES, INSURANCE_TYPES
from app.products.models import Product
from tests.conftest import seed_app
from tests.disclosure.conftest import PREMIUM, Scenario, published, recompute
from tests.security.support import assert_leaks_nothing, assert_problem, person_secrets

PEOPLE = ("张伟", "李娜", "张小宝", "刘强", "陈静", "孙丽")


@pytest.fixture
def unsuppressed(fast_password_hashing, app_factory, residents):
    """The scenario on an app that publishes every cell (minimum cell size 1)."""
    app = seed_app(app_factory(DISCLOSURE_MIN_CELL=1))
    Scenario(app, app.test_client(), residents).run()
    return app


def _ganzhou(client, **query) -> dict:
    resp = client.get("/public/statistics", query_string={"product": "ganzhou-demo-2026", **query})
    assert resp.status_code == 200, resp.get_json()
    [product] = resp.get_json()["products"]
    return product


def _product_id(app, code="ganzhou-demo-2026") -> int:
    with app.app_context():
        return get_session().scalar(select(Product.id).where(Product.code == code))


def test_statistics_match_a_recomputation_from_the_raw_tables(unsuppressed):
    stats = _ganzhou(unsuppressed.test_client())
    expected = recompute(unsuppressed, _product_id(unsuppressed))
    periods = {p["period"]: p for p in stats["months"]}
    assert sorted(periods) == ["2025-12", "2026-01", "2026-02"]
    assert sorted(expected) == ["2025-12", "2026-01", "2026-02", "year"]
    for month, figures in periods.items():
        assert published(figures) == expected[month], month
    assert published(stats["year"]) == expected["year"]
    assert stats["year"]["period"] == "2026"


def test_the_scenario_figures_by_hand(unsuppressed):
    """The same figures written out, so a wrong recomputation cannot agree with a wrong count."""
    stats = _ganzhou(unsuppressed.test_client())
    dec, jan, feb = stats["months"]
    year = stats["year"]
    assert published(dec) | {} == {
        # 张伟 employee; 李娜, 张小宝 residents; all paid from 张伟's personal account.
        "enrolled_by_insurance_type": {"employee": 1, "resident": 2, "unknown": 0},
        "enrolled_by_funding_source": {**dict.fromkeys(FUNDING_SOURCES, 0), "personal_account": 3},
        "enrolled_people": 3,
        "premiums_collected_fen": 3 * PREMIUM,
        "premiums_refunded_fen": 0,
        "claims_received": 0,
        "claims_settled": 0,
        "claims_paid": 0,
        "amount_paid_fen": 0,
    }
    # January: 刘强 (resident, relief fund), 孙丽 (employee, WeChat); 陈静 surrendered in
    # February, so her January enrollment no longer counts; her premium was still collected:
    # 8,900 (relief fund) + 5,934 + 2,966 (陈静) + 8,900 (WeChat) = 26,700 fen.
    assert published(jan)["enrolled_by_insurance_type"] == {
        "employee": 1,
        "resident": 1,
        "unknown": 0,
    }
    assert published(jan)["enrolled_by_funding_source"] == {
        **dict.fromkeys(FUNDING_SOURCES, 0),
        "relief_fund": 1,
        "wechat": 1,
    }
    assert published(jan)["premiums_collected_fen"] == 26_700
    # February: the refund of 5,934 + 2,966 = 8,900 fen; nobody enrolled.
    assert (published(feb)["enrolled_people"], published(feb)["premiums_refunded_fen"]) == (
        0,
        PREMIUM,
    )
    assert published(year)["enrolled_people"] == 5
    assert published(year)["premiums_collected_fen"] == 53_400
    # No claims yet: loss ratio 0 / (53,400 - 8,900) = 0.00%; no average or largest claim.
    assert year["loss_ratio"] == {"basis_points": 0, "display": "0.00%", "suppressed": False}
    assert year["average_claim_paid_fen"] == {"value": None, "suppressed": False}
    # 5 people of 8,600,000: 5 x 10,000 / 8,600,000 = 0.0058 bp -> 0 bp.
    assert year["participation_rate"]["basis_points"] == 0
    assert stats["region_basic_insured_population"] == 8_600_000


def test_claim_hooks_feed_the_claim_figures(unsuppressed):
    """The hooks the claims capability calls: counts, sums, average, largest, loss ratio."""
    from datetime import date

    from app.database import transaction
    from app.disclosure import aggregates as agg

    product_id = _product_id(unsuppressed)
    with unsuppressed.app_context():
        with transaction() as s:
            for day, paid in ((3, 15_000), (9, 19_999), (20, 1)):
                agg.record_claim_received(s, product_id, 2026, date(2026, 3, day))
                agg.record_claim_settled(s, product_id, 2026, date(2026, 3, day), paid)
                agg.record_claim_paid(s, product_id, 2026, date(2026, 4, 1), paid)
            agg.record_claim_received(s, product_id, 2026, date(2026, 4, 2))
            agg.record_claim_settled(s, product_id, 2026, date(2026, 4, 2), 0)  # rejected
    stats = _ganzhou(unsuppressed.test_client())
    march, april = stats["months"][-2:]
    assert (march["period"], april["period"]) == ("2026-03", "2026-04")
    assert (
        march["claims_received"]["value"],
        march["claims_settled"]["value"],
        march["amount_settled_fen"]["value"],
    ) == (3, 3, 35_000)
    assert april["claims_paid"]["value"] == 3
    assert april["amount_paid_fen"]["value"] == 35_000
    # 35,000 / 3 = 11,666.67 fen -> 11,667 (half up).
    assert april["average_claim_paid_fen"]["value"] == 11_667
    assert april["largest_claim_paid_fen"]["value"] == 19_999
    assert stats["year"]["largest_claim_paid_fen"]["value"] == 19_999
    assert stats["year"]["claims_received"]["value"] == 4
    assert stats["year"]["claims_settled"]["value"] == 4
    # Year: 35,000 x 10,000 / (53,400 - 8,900) = 7,865.17 -> 7,865 bp.
    assert stats["year"]["loss_ratio"] == {
        "basis_points": 7_865,
        "display": "78.65%",
        "suppressed": False,
    }
    # April alone: paid 35,000 against no premium that month -> no ratio (not suppressed).
    assert april["loss_ratio"] == {"basis_points": None, "display": None, "suppressed": False}


def _hidden_equation_cells(product: dict) -> list[str]:
    """Equations of the published table with exactly one hidden cell (there must be none)."""
    periods = [*product["months"], product["year"]]
    problems = []
    groups = {
        "insurance": ("enrolled_by_insurance_type", INSURANCE_TYPES),
        "funding": ("enrolled_by_funding_source", FUNDING_SOURCES),
    }
    for period in periods:
        for label, (name, keys) in groups.items():
            cells = [period[name][k] for k in keys] + [period["enrolled_people"]]
            if sum(c["suppressed"] for c in cells) == 1:
                problems.append(f"{period['period']} {label}")

    def column(getter) -> list[dict]:
        return [getter(p) for p in periods]

    figures = [
        lambda p, n=n: p[n]
        for n in (
            "enrolled_people",
            "premiums_collected_fen",
            "premiums_refunded_fen",
            "claims_received",
            "claims_settled",
            "claims_paid",
            "amount_settled_fen",
            "amount_paid_fen",
        )
    ]
    figures += [lambda p, k=k: p["enrolled_by_insurance_type"][k] for k in INSURANCE_TYPES]
    figures += [lambda p, k=k: p["enrolled_by_funding_source"][k] for k in FUNDING_SOURCES]
    for n, getter in enumerate(figures):
        if sum(c["suppressed"] for c in column(getter)) == 1:
            problems.append(f"column {n}")
    return problems


def test_small_cells_are_suppressed_at_the_default_size(scenario):
    scenario.run()
    resp = scenario.client.get("/public/statistics")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["min_cell"] == 10
    product = next(p for p in body["products"] if p["product_code"] == "ganzhou-demo-2026")
    year = product["year"]
    # 5 people, 2 refund payments: every non-zero count is under 10, so hidden, and so is every
    # amount that comes from them; zeros (no claims, nobody from a charity) are published.
    assert year["enrolled_people"] == {"value": None, "suppressed": True}
    assert year["premiums_collected_fen"] == {"value": None, "suppressed": True}
    assert year["premiums_refunded_fen"] == {"value": None, "suppressed": True}
    assert year["participation_rate"] == {"basis_points": None, "display": None, "suppressed": True}
    assert year["loss_ratio"]["suppressed"] is True
    assert year["enrolled_by_funding_source"]["charity"] == {"value": 0, "suppressed": False}
    assert year["claims_paid"] == {"value": 0, "suppressed": False}
    for period in [*product["months"], year]:
        for name in ("enrolled_by_insurance_type", "enrolled_by_funding_source"):
            for cell in period[name].values():
                assert cell["suppressed"] == (cell["value"] is None)
                assert cell["suppressed"] or cell["value"] == 0
    assert _hidden_equation_cells(product) == []
    secrets = [s for name in PEOPLE for s in person_secrets(scenario.residents[name])]
    assert_leaks_nothing(resp, secrets + ["赣州市民政局", "赣州某科技有限公司"])
    # The other product had no activity: all zeros, nothing hidden.
    other = next(p for p in body["products"] if p["product_code"] == "huhuibao-2021")
    assert other["months"] == [] and other["year"]["enrolled_people"] == {
        "value": 0,
        "suppressed": False,
    }


def test_complementary_suppression_hides_a_second_month(
    fast_password_hashing, app_factory, residents
):
    """At a minimum of 3: December's 3 people are publishable, January's 2 are not; with the
    year (5) published, December is hidden too, or 5 - 3 would give January away."""
    app = seed_app(app_factory(DISCLOSURE_MIN_CELL=3))
    Scenario(app, app.test_client(), residents).run()
    product = _ganzhou(app.test_client())
    dec, jan, feb = product["months"]
    assert jan["enrolled_people"] == {"value": None, "suppressed": True}  # 2 < 3
    assert dec["enrolled_people"] == {"value": None, "suppressed": True}  # complement
    assert product["year"]["enrolled_people"] == {"value": 5, "suppressed": False}
    assert feb["enrolled_people"] == {"value": 0, "suppressed": False}
    # Premiums go with the people they were paid for (a flat premium gives the count away).
    assert (
        dec["premiums_collected_fen"]["suppressed"] and jan["premiums_collected_fen"]["suppressed"]
    )
    assert product["year"]["premiums_collected_fen"] == {"value": 53_400, "suppressed": False}
    assert _hidden_equation_cells(product) == []


def test_etag_and_cache_headers(unsuppressed):
    client = unsuppressed.test_client()
    first = client.get("/public/statistics?product=ganzhou-demo-2026")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/") and len(etag) == 66
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = client.get(
        "/public/statistics?product=ganzhou-demo-2026", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    # Another query is another body, hence another ETag.
    other = client.get("/public/statistics?product=huhuibao-2021", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    # A new event changes the body and the ETag.
    from datetime import date

    from app.database import transaction
    from app.disclosure.aggregates import record_claim_received

    with unsuppressed.app_context(), transaction() as s:
        record_claim_received(s, _product_id(unsuppressed), 2026, date(2026, 3, 1))
    changed = client.get(
        "/public/statistics?product=ganzhou-demo-2026", headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_filters_and_unknown_product(seeded):
    client = seeded.test_client()
    by_year = client.get("/public/statistics?plan_year=2021").get_json()["products"]
    assert [p["product_code"] for p in by_year] == ["huhuibao-2021"]
    assert client.get("/public/statistics?plan_year=2030").get_json()["products"] == []
    assert_problem(
        client.get("/public/statistics?product=no-such-product"), 404, "product_not_found"
    )
    assert_problem(client.get("/public/statistics?product=BAD!"), 422, "validation_failed")
    assert (
        client.get("/public/statistics?product=ganzhou-demo-2026&plan_year=2021").get_json()[
            "products"
        ]
        == []
    )


def test_published_breakdowns_name_every_dimension_counted():
    """The response schemas list exactly the insurance types and funding sources the counters
    use, so a new funder kind cannot be counted and then silently left out of the answer."""
    from app.disclosure.schemas import (
        FundingSourceCellsSchema,
        InsuranceTypeCellsSchema,
        SourceAmountsSchema,
    )

    assert tuple(InsuranceTypeCellsSchema().fields) == INSURANCE_TYPES
    assert tuple(FundingSourceCellsSchema().fields) == FUNDING_SOURCES
    assert tuple(SourceAmountsSchema().fields) == FUNDING_SOURCES


def test_the_body_is_what_the_schema_describes(unsuppressed):
    """The route sends the service's data without dumping it through StatisticsSchema: dumping
    it would change nothing, so the spec stays true."""
    from app.disclosure import services
    from app.disclosure.schemas import StatisticsSchema

    with unsuppressed.app_context():
        data = services.public_statistics()
    assert any(p["months"] for p in data["products"])  # a body with cells to dump
    assert StatisticsSchema().dump(data) == data
    assert unsuppressed.test_client().get("/public/statistics").get_json() == data


def test_a_304_builds_no_body_and_an_unchanged_version_builds_it_once(unsuppressed, monkeypatch):
    from app.disclosure import services

    client = unsuppressed.test_client()
    url = "/public/statistics?product=ganzhou-demo-2026"
    first = client.get(url)
    built = []
    real = services._statistics_body

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_statistics_body", counting)
    services._BODIES.clear()
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert built == []
    assert client.get(url).get_data() == first.get_data()
    assert client.get(url).get_data() == first.get_data()
    assert built == [1]
