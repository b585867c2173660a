"""The engine reproduces the golden corpus exactly (tests/adjudication/golden.py wrote it with the
engine as it was before the issue-13 speed rewrite): decision, every bucket's figures, the
deltas, the reason codes and the text of every explanation line, for 300 seeded random claims
across the shipped products and the test products."""

from __future__ import annotations

import json

import pytest

from app.adjudication import adjudicate, estimate
from app.adjudication.reasons import REASONS
from tests.adjudication.golden import PATH, inputs, lines_digest, products, result_json

CORPUS = json.loads(PATH.read_text(encoding="utf-8"))
CATALOGUE = products()


def test_the_corpus_is_broad():
    """Every product, every decision and at least 28 of the 30 reason codes occur."""
    assert len(CORPUS) == 300
    assert {c["result"]["decision"] for c in CORPUS} == {"payable", "not_payable", "review"}
    assert {c["product"] for c in CORPUS} == set(CATALOGUE)
    assert sum("lines" in c["result"] for c in CORPUS) >= 15
    codes = set()
    for case in CORPUS:
        product = CATALOGUE[case["product"]]
        codes.update(adjudicate(product, *inputs(case, product)).reason_codes)
    assert len(codes) >= 28, sorted(set(REASONS) - codes)


@pytest.mark.parametrize("n", range(len(CORPUS)))
def test_the_engine_reproduces_the_corpus(n: int):
    case = CORPUS[n]
    product = CATALOGUE[case["product"]]
    result = adjudicate(product, *inputs(case, product))
    expected = dict(case["result"])
    full_text = expected.pop("lines", None)
    got = result_json(result)
    if full_text is not None:  # the case keeps its text in full: compare line by line first
        assert [[e.code, e.bucket, e.zh, e.en] for e in result.lines] == full_text
    assert got == expected
    assert result.reason_codes == tuple(dict.fromkeys(e.code for e in result.lines))
    assert lines_digest(result) == expected["lines_sha256"]
    assert estimate(product, *inputs(case, product)) == result
