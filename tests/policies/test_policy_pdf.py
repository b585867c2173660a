"""The policy PDF as pure code: deterministic, one embedded font, a character outside the font
printed as "*", and (where poppler's pdftoppm is installed) a rendering with no host font at all
that still draws the Chinese title."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from app.policies.benefits import benefit_lines, benefit_rows
from app.policies.policy_pdf import render_pdf
from app.products.loader import load_file
from tests.policies.test_certificate import make_view, verify_url

DEFINITION = Path(__file__).resolve().parents[2] / "app/products/definitions/ganzhou-demo-2026.toml"


def _pdf(**changes) -> bytes:
    defn = load_file(DEFINITION)
    view = make_view(buckets=benefit_lines(defn), **changes)
    return render_pdf(
        view,
        verify_url(),
        benefits=benefit_rows(defn),
        policyholder_name_masked="*三",
        terms_title=defn.terms.title,
    )


def test_the_pdf_is_deterministic_with_one_embedded_font():
    first = _pdf()
    assert first == _pdf()
    reader = PdfReader(io.BytesIO(first))
    fonts = [f.get_object() for p in reader.pages for f in p["/Resources"]["/Font"].values()]
    assert [str(f["/BaseFont"]).split("+")[-1] for f in fonts] == ["WenQuanYiMicroHei"]
    assert len(reader.pages) == 1


def test_a_character_outside_the_font_prints_as_a_star():
    text = PdfReader(io.BytesIO(_pdf(insured_name_masked="*\U00020bb7"))).pages[0].extract_text()
    assert "\U00020bb7" not in text
    assert "**" in text.replace(" ", "")


def test_a_void_policy_says_so():
    text = PdfReader(io.BytesIO(_pdf(status="void", status_label="已终止"))).pages[0]
    assert "已终止" in text.extract_text()


def test_it_renders_on_a_host_without_any_font(tmp_path):
    """pdftoppm with an empty fontconfig (no font at all): the embedded subset draws the title.
    Skipped without poppler-utils, except in CI (.ci/run installs it and sets
    HUIMIN_REQUIRE_POPPLER=1), where it must run."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("HUIMIN_REQUIRE_POPPLER") == "1":
            pytest.fail("HUIMIN_REQUIRE_POPPLER=1 but pdftoppm (poppler-utils) is not installed")
        pytest.skip("poppler-utils not installed")
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n')
    pdf = tmp_path / "policy.pdf"
    pdf.write_bytes(_pdf())
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        env={"FONTCONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=60,
    )
    page = Image.open(tmp_path / "page.png").convert("RGB")
    band = page.crop((40, 30, page.width - 40, 80))  # the title band, white glyphs on blue
    colours = dict((c, n) for n, c in band.getcolors(maxcolors=1 << 20))
    assert colours.get((255, 255, 255), 0) > 100
