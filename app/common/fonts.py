"""The CJK font the sponsor documents are set in (donation receipts as PDF, campaign QR posters
as PNG and PDF): one function names the file, so pointing every document at another font is a
change of one line.

`document_font_path()` names the font the project ships (app/fonts: a subset of WenQuanYi Micro
Hei), so the documents read the same on a host with no CJK font. The receipt and poster
renderers ask only this module, never a path of their own; text people typed (organisation,
programme and campaign names) goes through `drawable()`, which stars a character the subset
lacks instead of drawing an empty box.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from app.fonts import FONT_PATH
from app.fonts import drawable as drawable

REPORTLAB_FONT_NAME = "HuiminCJK"

_register_lock = threading.Lock()


class FontMissing(RuntimeError):
    """The CJK font file is not there: a document would come out unreadable, so none is made."""


def document_font_path() -> str:
    """The font file every sponsor document is drawn with."""
    return FONT_PATH


def _checked_path() -> str:
    path = document_font_path()
    if not Path(path).is_file():
        raise FontMissing(f"CJK font not found: {path}")
    return path


def reportlab_font() -> str:
    """The font's name for reportlab, registered on first use (subset into each PDF)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    with _register_lock:
        if REPORTLAB_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(REPORTLAB_FONT_NAME, _checked_path(), subfontIndex=0))
    return REPORTLAB_FONT_NAME


@lru_cache(maxsize=32)
def pillow_font(size: int):
    """The font at `size` pixels for Pillow drawings."""
    from PIL import ImageFont

    return ImageFont.truetype(_checked_path(), size=size, index=0)
