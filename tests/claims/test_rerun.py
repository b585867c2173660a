"""`flask claims rerun`: after a product change the operator re-runs the engine. A claim already
settled is only reported, and its report must compare like with like: the claim's own use of the
accumulators (the deductible it met, the spend it added) is not counted against it again."""

from __future__ import annotations

from app.claims.models import Claim
from app.database import get_session
from tests.claims.test_payout import _tap


def test_an_unchanged_product_reports_no_settled_claim_as_changed(app, client, insured_family):
    claim = _tap(client, insured_family, "6222020200112233445")
    assert claim["status"] == "paid" and claim["paid_fen"] > 0
    with app.app_context():
        from app.claims.services import rerun_for_product
        from app.products.models import Product

        s = get_session()
        code = s.get(Product, s.get(Claim, claim["id"]).product_id).code
        rows = {r["claim_no"]: r for r in rerun_for_product(code, apply=False)}
    row = rows[claim["claim_no"]]
    assert row["settled"] is True
    # the product did not change: the re-run gives the figure the claim was paid at
    assert row["after_fen"] == row["before_fen"] == claim["paid_fen"]
