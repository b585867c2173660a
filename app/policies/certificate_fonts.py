"""Fonts for the policy certificate: always the CJK font the project ships (app/fonts).

The certificate never looks at the host's fonts, so a host with no CJK font installed draws the
same Chinese certificate, byte for byte. A character the shipped font lacks (a rare name
character, say) is drawn as ``*``, never as a tofu box.
"""

from __future__ import annotations

import functools

from PIL import ImageFont

from app import fonts

FONT_PATH = fonts.FONT_PATH


@functools.cache
def load_font(size: int) -> ImageFont.FreeTypeFont:
    """The shipped font in ``size`` px (basic layout: no shaping is needed for CJK)."""
    return ImageFont.truetype(FONT_PATH, size, layout_engine=ImageFont.Layout.BASIC)


def has_glyph(ch: str) -> bool:
    """True when the shipped font draws ``ch`` (else the certificate shows ``*``)."""
    return fonts.covers(ch)
