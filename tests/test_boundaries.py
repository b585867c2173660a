"""Package boundaries: the import-linter contracts of pyproject.toml ([tool.importlinter]) hold,
and the hook registry (app/common/hooks.py) fails loudly instead of silently doing nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from app.common import hooks

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    """Every contract is kept. On failure the report (which import, on which line) is shown.
    Run as the CLI is, in a process of its own, on this tree's `app`."""
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is not installed (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [lint_imports, "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


# --- the hook registry -----------------------------------------------------------------------


@pytest.fixture()
def bare_app():
    """An app on which no capability registered anything."""
    return Flask(__name__)


def test_a_hook_nobody_registered_fails_loudly(bare_app):
    with pytest.raises(hooks.HookMissing, match=r"sponsors\.claims_paid.*claims_paid_on"):
        hooks.providers(hooks.CLAIMS_PAID, app=bare_app)
    with bare_app.app_context(), pytest.raises(hooks.HookMissing, match="member_claims"):
        hooks.call(hooks.MEMBER_CLAIMS, None, 1)
    with bare_app.app_context(), pytest.raises(hooks.HookMissing, match="subsidy_offers"):
        hooks.providers(hooks.SUBSIDY_OFFERS)


def test_check_registered_names_the_missing_hook_point(bare_app):
    hooks.register(hooks.SUBSIDY_OFFERS, lambda session, product, defn, persons: [], app=bare_app)
    with pytest.raises(hooks.HookMissing, match=r"policies\.claims_filed"):
        hooks.check_registered(bare_app)


def test_an_undeclared_hook_name_is_refused(bare_app):
    with pytest.raises(hooks.UnknownHook, match="sponsors.claims_payd"):
        hooks.register("sponsors.claims_payd", lambda session, ids: None, app=bare_app)
    with pytest.raises(hooks.UnknownHook):
        hooks.providers("no.such.hook", app=bare_app)


def test_an_implementation_must_take_the_declared_arguments(bare_app):
    with pytest.raises(TypeError, match=r"must take \(session, policy_ids\)"):
        hooks.register(hooks.CLAIMS_PAID, lambda session: None, app=bare_app)
    with pytest.raises(TypeError, match="not callable"):
        hooks.register(hooks.CLAIMS_PAID, "claims_paid_on", app=bare_app)


def test_one_implementation_hooks_keep_the_latest_and_many_hooks_keep_all(bare_app):
    hooks.register(hooks.CLAIMS_PAID, lambda session, ids: "first", app=bare_app)
    hooks.register(hooks.CLAIMS_PAID, lambda session, ids: "second", app=bare_app)
    with bare_app.app_context():
        assert hooks.call(hooks.CLAIMS_PAID, None, None) == "second"
        with pytest.raises(TypeError, match="several implementations"):
            hooks.call(hooks.CLAIMS_FILED, None, None)

    def first(session, policy):
        return False

    def second(session, policy):
        return True

    hooks.register(hooks.CLAIMS_FILED, first, app=bare_app)
    hooks.register(hooks.CLAIMS_FILED, second, app=bare_app)
    assert hooks.providers(hooks.CLAIMS_FILED, app=bare_app) == (first, second)
    # The registry is the one store: no legacy app.extensions key mirrors it any more.
    assert "policy_claim_checks" not in bare_app.extensions


def test_create_app_registers_every_hook_point(app):
    hooks.check_registered(app)
    from app.claims.services import claims_paid_on

    assert hooks.providers(hooks.CLAIMS_PAID, app=app) == (claims_paid_on,)
