"""The production smoke run's own machinery (tests/smoke/run.py): a failed step stops the run and
is named; the dated product keeps the run independent of today's date. The run itself is
`scripts/smoke`, in .ci/run."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from app.products.loader import load_file
from tests.smoke.run import Smoke, Step, StepFailed, check, dated_definition, run_steps


def _smoke(tmp_path: Path) -> Smoke:
    return Smoke(
        pg_admin_url="postgresql://unused",
        database="unused",
        redis_url="redis://unused",
        workdir=tmp_path,
    )


def test_the_first_failed_step_stops_the_run_and_is_named(tmp_path):
    ran = []

    def ok(smoke):
        ran.append("first")

    def fails(smoke):
        ran.append("second")
        check(1 + 1 == 3, "arithmetic is broken")

    def never(smoke):
        ran.append("third")

    out = io.StringIO()
    code = run_steps(
        [Step("first", ok), Step("second", fails), Step("third", never)], _smoke(tmp_path), out
    )

    assert code == 1 and ran == ["first", "second"]
    text = out.getvalue()
    assert "step 'first' ok" in text
    assert "step 'second' FAILED: arithmetic is broken" in text
    assert "third" not in text


def test_an_unexpected_exception_fails_its_step_with_the_traceback(tmp_path):
    def crashes(smoke):
        {}["missing"]

    out = io.StringIO()
    assert run_steps([Step("crashes", crashes)], _smoke(tmp_path), out) == 1
    assert "step 'crashes' FAILED: Traceback" in out.getvalue()
    assert "KeyError: 'missing'" in out.getvalue()


def test_all_steps_passing_is_exit_zero(tmp_path):
    out = io.StringIO()
    assert (
        run_steps([Step("a", lambda s: None), Step("b", lambda s: None)], _smoke(tmp_path), out)
        == 0
    )
    assert "2 steps passed" in out.getvalue()


def test_check_raises_step_failed():
    check(True, "fine")
    try:
        check(False, "why")
    except StepFailed as exc:
        assert str(exc) == "why"
    else:
        raise AssertionError("check(False) did not raise")


def test_the_dated_product_is_a_valid_definition_open_all_that_year(tmp_path):
    code, path = dated_definition(tmp_path, 2031)
    defn = load_file(path)

    assert code == defn.code == "smoke-2031" and defn.plan_year == 2031
    assert (defn.window_opens, defn.window_closes) == (date(2031, 1, 1), date(2031, 12, 31))
    assert (defn.coverage_starts, defn.coverage_ends) == (date(2031, 1, 1), date(2031, 12, 31))
    assert defn.window_open_on(date(2031, 6, 30)) and not defn.window_open_on(date(2032, 1, 1))
    assert defn.premium_default_fen == 8900  # the rest is the shipped demo product
