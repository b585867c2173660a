"""The README's walk blocks (scripts/readme_walk.py): what scripts/readme-walk extracts and runs
against a live ./scripts/dev in CI, checked here without a server: the marker grammar, and the
habits that broke the walk on a fresh clone (tools a fresh Debian lacks, the system flask, a
fixed port, fixed ids of seeded rows, files the repository does not ship)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_walk", ROOT / "scripts" / "readme_walk.py")
assert _spec is not None and _spec.loader is not None
readme_walk = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("readme_walk", readme_walk)  # dataclasses look their module up
_spec.loader.exec_module(readme_walk)

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = readme_walk.walk_blocks(README)


def test_the_readme_walks_every_part_in_order():
    names = list(dict.fromkeys(b.name for b in BLOCKS))
    assert names[0] == "helpers"
    for part in (
        "enrollment",
        "claims",
        "special-drugs",
        "renewals",
        "sponsors",
        "paired-assistance",
        "pages",
    ):
        assert part in names


FORBIDDEN = [
    (r"\buuidgen\b", "uuidgen is not installed on a fresh Debian: use key"),
    (r"\bjq\b", "jq is not installed on a fresh Debian: use take"),
    (r"(?<![/\w-])flask ", "the system flask is not the project's: .venv/bin/flask"),
    (r"localhost:\d+|127\.0\.0\.1:5000", "the port is chosen with PORT: use $API"),
    (r"/(orders|policies|claims|applications|programmes|campaigns)/\d", "ids come from answers"),
    (r"relative_ids\\?\"?: \[\d", "ids come from answers"),
]


@pytest.mark.parametrize(("pattern", "why"), FORBIDDEN)
def test_walk_blocks_avoid_what_broke_on_a_fresh_clone(pattern, why):
    offending = [
        f"{b.name} (line {b.line}): {line.strip()}"
        for b in BLOCKS
        for line in b.body.splitlines()
        if re.search(pattern, line) and not line.lstrip().startswith("API=")
    ]
    assert offending == [], why


def test_files_the_walk_uploads_are_shipped():
    uploads = {m for b in BLOCKS for m in re.findall(r"=@([\w./-]+)", b.body)}
    assert uploads, "the walk uploads documents"
    for path in uploads:
        assert (ROOT / path).is_file(), path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intro\n", "no walk blocks"),
        ("<!-- walk: a -->\nnot a fence\n", "must be followed by a ```sh block"),
        ("<!-- walk: a -->\n```python\nprint(1)\n```\n", "must be followed by a ```sh block"),
        ("<!-- walk: a -->\n```sh\necho open\n", "not closed"),
    ],
)
def test_malformed_walks_are_refused(text, message):
    with pytest.raises(readme_walk.WalkError, match=re.escape(message)):
        readme_walk.walk_blocks(text)


def test_the_script_runs_marked_blocks_only_in_order_and_names_them():
    text = (
        "<!-- walk: first -->\n```sh\necho one\n```\n"
        "```sh\necho not marked\n```\n"
        "<!-- walk: second -->\n```bash\necho two\n```\n"
    )
    blocks = readme_walk.walk_blocks(text)
    assert [(b.name, b.line, b.body) for b in blocks] == [
        ("first", 3, "echo one"),
        ("second", 10, "echo two"),
    ]
    script = readme_walk.walk_script(blocks)
    assert script.startswith("set -euo pipefail\n")
    assert "not marked" not in script
    assert script.index("echo one") < script.index("WALK_BLOCK='2/2 second, README.md line 10'")
    assert script.index("WALK_BLOCK='2/2 second") < script.index("echo two")
