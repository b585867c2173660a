"""What one decode may hold in memory (DOCUMENT_DECODE_MAX_PIXELS): a larger JPEG is decoded at
1/2, 1/4 or 1/8 scale by the JPEG decoder itself, so its full-size pixels never exist, and is
stored that size; a larger PNG, which cannot be decoded smaller, is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.documents import DocumentLimits, DocumentTooManyPixels, sanitise


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "max_decoded", "stored"),
    [
        # 800 x 600 = 480,000 pixels
        ((800, 600), 480_000, (800, 600)),  # at the limit: decoded whole
        ((800, 600), 479_999, (400, 300)),  # one under: 1/2 scale, 120,000
        ((800, 600), 120_000, (400, 300)),  # 1/2 scale exactly fits
        ((800, 600), 119_999, (200, 150)),  # 1/4 scale, 30,000
        ((800, 600), 7_500, (100, 75)),  # 1/8 scale, 7,500
        ((801, 601), 200_000, (401, 301)),  # odd sides round up: ceil(801/2) x ceil(601/2)
    ],
)
def test_a_large_jpeg_is_decoded_at_a_reduced_scale(size, max_decoded, stored):
    limits = DocumentLimits(max_decoded_pixels=max_decoded)
    document = sanitise(_jpeg(*size), limits=limits)
    assert (document.width, document.height) == stored
    with Image.open(io.BytesIO(document.content)) as image:
        assert image.size == stored


def test_a_jpeg_even_an_eighth_of_which_is_too_large_is_refused():
    # 800 x 600 at 1/8 is 100 x 75 = 7,500 pixels: one more than allowed
    with pytest.raises(DocumentTooManyPixels):
        sanitise(_jpeg(800, 600), limits=DocumentLimits(max_decoded_pixels=7_499))


@pytest.mark.parametrize(("max_decoded", "accepted"), [(480_000, True), (479_999, False)])
def test_a_png_over_the_decode_limit_is_refused(max_decoded, accepted):
    data = _png(800, 600)
    limits = DocumentLimits(max_decoded_pixels=max_decoded)
    if accepted:
        assert sanitise(data, limits=limits).width == 800
    else:
        with pytest.raises(DocumentTooManyPixels):
            sanitise(data, limits=limits)


def test_the_decode_limit_comes_from_the_app_config(app):
    app.config["DOCUMENT_DECODE_MAX_PIXELS"] = 120_000
    with app.app_context():
        assert sanitise(_jpeg(800, 600)).width == 400
