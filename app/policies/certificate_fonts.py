"""Fonts for the policy certificate: finding a CJK font that really draws Chinese, and glyphs.

Chinese text needs a CJK font. ``find_cjk_font`` looks at common paths (then at
``fc-match``) at first use and caches the answer. A candidate counts only when it really has
the glyphs (fontconfig happily answers DejaVu Sans for ``sans:lang=zh``). Without one, the
certificate is drawn in English with Pillow's default font, names fully starred, and any
other Chinese text replaced by an English label or a placeholder. Even with a CJK font, a
character the font lacks (a rare name character, say) is drawn as ``*``, never as a tofu box.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess

from PIL import ImageFont

# The certificate module's log name from before the split, so log filters keep matching.
log = logging.getLogger("app.policies.certificate")

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)
_FC_MATCH_PATTERNS = ("sans:lang=zh", ":lang=zh-cn")
_PROBE_TEXT = "电子保险凭证扫码核验保单真伪被保险人"
_UNASSIGNED = "\u0378"  # never assigned in Unicode: always the font's .notdef glyph
_PROBE_SIZE = 32


def _fc_match_candidates() -> list[str]:
    exe = shutil.which("fc-match")
    if exe is None:
        return []
    found = []
    for pattern in _FC_MATCH_PATTERNS:
        try:
            done = subprocess.run(
                [exe, "-f", "%{file}", pattern],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        path = done.stdout.strip()
        if done.returncode == 0 and path:
            found.append(path)
    return found


def _mask_key(font, ch: str) -> tuple:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def _font_covers(font, text: str) -> bool:
    """True when every non-space character of ``text`` has a real glyph in ``font``."""
    notdef = _mask_key(font, _UNASSIGNED)
    for ch in set(text):
        if ch.isspace():
            continue
        mask = font.getmask(ch)
        if mask.getbbox() is None or (mask.size, bytes(mask)) == notdef:
            return False
    return True


def _usable_cjk_font(path: str) -> bool:
    if not os.path.isfile(path):
        return False
    try:
        font = ImageFont.truetype(path, _PROBE_SIZE, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return False
    return _font_covers(font, _PROBE_TEXT)


@functools.cache
def find_cjk_font() -> str | None:
    """The path of a font that really draws Chinese, or None. Looked up once, then cached
    (``find_cjk_font.cache_clear()`` forgets the answer)."""
    for path in (*CJK_FONT_CANDIDATES, *_fc_match_candidates()):
        if _usable_cjk_font(path):
            log.info("certificate CJK font: %s", path)
            return path
    log.warning("no CJK font found; certificates are drawn in English (install fonts-wqy-microhei)")
    return None


@functools.cache
def load_font(path: str | None, size: int):
    """The font at ``path`` in ``size`` px, or Pillow's default font when ``path`` is None."""
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@functools.cache
def has_glyph(path: str | None, size: int, ch: str) -> bool:
    """True when the font at ``path`` draws ``ch`` (else the certificate shows ``*``)."""
    if ch.isspace():
        return True
    font = load_font(path, size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType
        return " " <= ch <= "~"
    return _font_covers(font, ch)
