"""House rules a reviewer would otherwise have to remember, checked over app/:
- no module over 600 lines (a module past it holds more than one concern: split it along them);
  function complexity is held by ruff's C901 (max 25, pyproject.toml);
- no bare session commit()/rollback() outside app/database.py: a unit of work is
  `transaction()`, a read is `read_scope()`, so every transaction visibly ends;
- one place writes orders and policies: the enrollment writer (app/enrollment/writer.py)."""

import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
LIMIT = 600


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(APP.parent)): path.read_text(encoding="utf-8")
        for path in sorted(APP.rglob("*.py"))
    }


def test_no_module_is_over_the_limit():
    sizes = {name: len(text.splitlines()) for name, text in _sources().items()}
    assert len(sizes) > 100  # the walk found the package
    over = sorted(f"{name} ({lines})" for name, lines in sizes.items() if lines > LIMIT)
    assert not over, f"modules over {LIMIT} lines: " + ", ".join(over)


def test_transactions_end_through_the_two_scopes():
    bare = re.compile(r"\.(commit|rollback)\(\)")
    found = sorted(
        f"{name}:{n}"
        for name, text in _sources().items()
        if name != "app/database.py"
        for n, line in enumerate(text.splitlines(), 1)
        if bare.search(line.split("#")[0])
    )
    assert not found, "use transaction() or read_scope() (app/database.py): " + ", ".join(found)


def test_one_writer_makes_orders_and_policies():
    made = re.compile(
        r"(?<!class )\b(Order|OrderItem|Policy)\(|table_of\((Order|OrderItem|Policy)\)"
    )
    writers = sorted(name for name, text in _sources().items() if made.search(text))
    assert writers == ["app/enrollment/writer.py"], writers
