"""House rule: no module in app/ over 600 lines (a module that grows past it has more than one
concern; split it along them). Function complexity is held by ruff's C901 (max 25, pyproject)."""

from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
LIMIT = 600


def test_no_module_is_over_the_limit():
    sizes = {
        str(path.relative_to(APP.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in APP.rglob("*.py")
    }
    assert len(sizes) > 100  # the walk found the package
    over = sorted(f"{name} ({lines})" for name, lines in sizes.items() if lines > LIMIT)
    assert not over, f"modules over {LIMIT} lines: " + ", ".join(over)
