"""The CJK font the project ships (pure: no Flask, no database, never a host font).

``FONT_PATH`` is a subset of WenQuanYi Micro Hei (Apache-2.0; NOTICE.txt and the licence beside
it), built by scripts/build_cjk_font.py: ASCII, all of GB2312, some name characters and every
CJK character of the project's own texts. Every document the service renders (the certificate
PNG, the policy PDF) draws with it, so a host without any CJK font renders the same bytes.

``covers(ch)`` says whether the font has a glyph for a character; ``drawable(text)`` replaces any
character it lacks with ``*`` (a rare name character is shown starred, never as a tofu box).
"""

from __future__ import annotations

import functools
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
FONT_PATH = str(FONT_DIR / "wqy-microhei-subset.ttf")
FONT_NAME = "WenQuanYiMicroHei"  # the PostScript name, as a PDF names the embedded font
MISSING = "*"


@functools.cache
def codepoints() -> frozenset[int]:
    """The code points the shipped font maps to a glyph (read once from its cmap)."""
    from fontTools.ttLib import TTFont

    font = TTFont(FONT_PATH, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def covers(ch: str) -> bool:
    """True when the shipped font draws ``ch`` (whitespace always counts as drawable)."""
    return ch.isspace() or ord(ch) in codepoints()


def drawable(text: str) -> str:
    """``text`` with every character the font lacks replaced by ``*``."""
    return "".join(ch if covers(ch) else MISSING for ch in text)
