"""The README's walk blocks as one bash script (used by scripts/readme-walk and its test).

A walk block is a ```sh (or ```bash) block right after a line `<!-- walk: NAME -->`. The script
runs them in README order in one shell with `set -euo pipefail`, announcing each block, and an
ERR trap names the block that failed. Usage: python3 scripts/readme_walk.py README.md > walk.sh
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass

MARKER = re.compile(r"^<!--\s*walk:\s*([A-Za-z0-9_.-]+)\s*-->\s*$")
FENCES = ("```sh", "```bash")


@dataclass(frozen=True)
class Block:
    name: str
    line: int  # the README line of the block's first command
    body: str


class WalkError(ValueError):
    pass


def walk_blocks(text: str, path: str = "README.md") -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            if i + 1 >= len(lines) or lines[i + 1].strip() not in FENCES:
                raise WalkError(f"{path}:{i + 1}: a walk marker must be followed by a ```sh block")
            end = i + 2
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            if end == len(lines):
                raise WalkError(f"{path}:{i + 2}: the walk block is not closed")
            blocks.append(Block(m.group(1), i + 3, "\n".join(lines[i + 2 : end])))
            i = end
        i += 1
    if not blocks:
        raise WalkError(f"{path}: no walk blocks (<!-- walk: NAME --> before a ```sh block)")
    return blocks


def walk_script(blocks: list[Block], path: str = "README.md") -> str:
    out = [
        "set -euo pipefail",
        "trap 'echo \"README WALK FAILED: block $WALK_BLOCK (exit $?)\" >&2' ERR",
    ]
    for n, block in enumerate(blocks, 1):
        where = f"{n}/{len(blocks)} {block.name}, {path} line {block.line}"
        out += [f"WALK_BLOCK={shlex.quote(where)}", 'echo "=== block $WALK_BLOCK"', block.body]
    out.append('echo "=== README walk: all blocks passed"')
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "README.md"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        print(walk_script(walk_blocks(text, path), path), end="")
    except WalkError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
