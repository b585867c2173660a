#!/usr/bin/env python3
"""Rebuild app/fonts/wqy-microhei-subset.ttf, the CJK font the project ships, from its source.

Source: WenQuanYi Micro Hei (文泉驿微米黑), TrueType outlines, licensed Apache-2.0 (or GPL-3+ with
the font exception; we use the Apache-2.0 option). On Debian: `apt-get install -y
fonts-wqy-microhei`, which installs /usr/share/fonts/truetype/wqy/wqy-microhei.ttc (face 0 is the
proportional "WenQuanYi Micro Hei").

The subset keeps:
- printable ASCII and Latin-1 punctuation (¥ · ×), the general punctuation the texts use;
- every character of GB2312 (its 6,763 hanzi, CJK punctuation, full-width forms, kana...);
- a short list of hanzi common in given names that GB2312 lacks (NAME_EXTRAS);
- every CJK character found in the project's own texts (app/**/*.py, .toml, .md, .html, .js,
  .json), so whatever the app itself writes is always drawable.
A character outside the subset (a rare name character, say) is drawn as "*" by the renderers
(app/fonts.covers), never as a tofu box.

Run from the repository root (fontTools is a project dependency):

    .venv/bin/python scripts/build_cjk_font.py
    .venv/bin/python scripts/build_cjk_font.py --check   # exit 1 if the committed font is stale

The output is deterministic for the same source font, fontTools version and project texts.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
OUTPUT = ROOT / "app" / "fonts" / "wqy-microhei-subset.ttf"
TEXT_SUFFIXES = {".py", ".toml", ".md", ".html", ".js", ".json", ".txt"}
SKIP_DIRS = {"vendor", "__pycache__"}

# Hanzi seen in Chinese given names, several of which GB2312 lacks (喆, 堃, 赟, 玥 ...); the
# ones GB2312 already has change nothing.
NAME_EXTRAS = (
    "喆堃赟玥昇旻珺璟晞暐犇淏琎瑄璿祎翀钰钖锘镕韡頔颢骞鹍婳嫚媖妍姮娅"
    "浛溆滢澍炜烜焓熠燚琤琬瑢瑭璠璨瑀玙珩珣琮珏瑒瑾瓒甦皞睿砚祐禤"
    "筠篪緹翯翾胤芃芮茝荭菁萱蓁蔚薷蘅虓蕤衎褀赜跞躜邴郗鄢铖锴镠"
    "锜锟铧阚隽雩霈霏靓韪頫颀飏馥骎骁鲲鹏鹓麒黉龑"
)
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def gb2312_chars() -> set[str]:
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def project_chars(root: Path) -> set[str]:
    chars: set[str] = set()
    for path in sorted((root / "app").rglob("*")):
        if path.suffix not in TEXT_SUFFIXES or SKIP_DIRS & set(path.parts):
            continue
        chars.update(_CJK.findall(path.read_text(encoding="utf-8", errors="ignore")))
    return chars


def wanted_chars(root: Path) -> set[str]:
    ascii_ = {chr(c) for c in range(0x20, 0x7F)}
    extras = set("¥·×—–‘’“”…•←→↑↓●○■□★☆√")
    return ascii_ | extras | gb2312_chars() | set(NAME_EXTRAS) | project_chars(root)


def build(source: Path, root: Path) -> bytes:
    font = TTFont(str(source), fontNumber=0, recalcTimestamp=False, lazy=False)
    options = subset.Options()
    options.hinting = False  # Pillow and PDF viewers rasterise without the TrueType hints
    options.layout_features = []  # no shaping needed for CJK and ASCII
    options.name_IDs = ["*"]  # keep the copyright, licence and designer records
    options.name_languages = ["*"]
    options.name_legacy = True
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(ch) for ch in wanted_chars(root)))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"source font not found: {args.source} (apt-get install -y fonts-wqy-microhei)")
        return 2
    data = build(args.source, ROOT)
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        print("up to date" if same else f"stale: rebuild {args.output}")
        return 0 if same else 1
    args.output.write_bytes(data)
    glyphs = len(TTFont(io.BytesIO(data)).getGlyphOrder())
    print(f"wrote {args.output} ({len(data):,} bytes, {glyphs:,} glyphs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
