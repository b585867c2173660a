"""The electronic policy certificate: verification tokens, yuan text and the PNG.

Pure code: no app, no database. The QR code is decoded back with zxing-cpp. The certificate is
drawn with the font the project ships (app/fonts), also on a "host" where every other font
fails to open (no_host_fonts).
"""

from __future__ import annotations

import base64
import io
import struct
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from app import fonts as shipped
from app.policies import certificate as cert
from app.policies import certificate_tokens as tokens
from app.policies.certificate import (
    CertificateTokenInvalid,
    CertificateView,
    fen_to_yuan_text,
    render_png,
    sign_token,
    verify_token,
)
from app.policies.certificate_fonts import has_glyph, load_font

SECRET = b"certificate-test-secret-0123456789"
OTHER_SECRET = b"another-certificate-secret-98765"
BASE_URL = "http://127.0.0.1:5000/public/certificates/verify?token="


# --------------------------------------------------------------------------------------------
# fen_to_yuan_text: two decimals, comma thousands grouping (decided: grouping on)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fen, text",
    [
        (0, "0.00"),
        (1, "0.01"),
        (5, "0.05"),
        (10, "0.10"),
        (99, "0.99"),
        (100, "1.00"),
        (8900, "89.00"),
        (12_345, "123.45"),
        (99_999, "999.99"),
        (100_000, "1,000.00"),
        (1_234_567, "12,345.67"),
        (15_000_000_00, "15,000,000.00"),
        (-5, "-0.05"),
        (-250, "-2.50"),
        (-1_234_567, "-12,345.67"),
        (10**20 + 1, "1,000,000,000,000,000,000.01"),  # no float rounding anywhere
    ],
)
def test_fen_to_yuan_text(fen, text):
    assert fen_to_yuan_text(fen) == text


@pytest.mark.parametrize("bad", [89.0, "8900", True, None])
def test_fen_to_yuan_text_wants_an_int(bad):
    with pytest.raises(TypeError):
        fen_to_yuan_text(bad)


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


def test_token_round_trip():
    token = sign_token(SECRET, "HM2026000001234")
    assert verify_token(SECRET, token) == ("HM2026000001234", 1)
    assert verify_token(SECRET, sign_token(SECRET, "HM2026000001234", 7)) == ("HM2026000001234", 7)


def test_token_is_short_url_safe_and_unpadded():
    token = sign_token(SECRET, "HM2026000001234")
    payload, mac = token.split(".")
    assert len(mac) == 22  # 16 bytes of HMAC-SHA256
    assert len(token) <= 48
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    longest = sign_token(SECRET, "X" * 32, 999_999)
    assert len(longest) <= 80 < cert.TOKEN_MAX_LEN


def test_token_is_deterministic_and_depends_on_every_input():
    a = sign_token(SECRET, "HM1")
    assert a == sign_token(SECRET, "HM1")
    assert (
        len(
            {
                a,
                sign_token(SECRET, "HM2"),
                sign_token(SECRET, "HM1", 2),
                sign_token(OTHER_SECRET, "HM1"),
            }
        )
        == 4
    )


@settings(max_examples=200, deadline=None)
@given(
    policy_no=st.from_regex(cert.POLICY_NO_RE, fullmatch=True),
    version=st.integers(min_value=1, max_value=999_999),
)
def test_token_round_trip_property(policy_no, version):
    assert verify_token(SECRET, sign_token(SECRET, policy_no, version)) == (policy_no, version)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_character_change_is_rejected(data):
    token = sign_token(SECRET, "HM2026000001234", 3)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    ch = data.draw(st.characters(codec="utf-8").filter(lambda c: c != token[i]))
    with pytest.raises(CertificateTokenInvalid):
        verify_token(SECRET, token[:i] + ch + token[i + 1 :])


def _flip(s: str, i: int) -> str:
    return s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1 :]


def _forge(payload_text: str | bytes) -> str:
    """A token with a *correct* MAC around an arbitrary payload: the parser must still refuse."""
    raw = payload_text.encode() if isinstance(payload_text, str) else payload_text
    payload_b64 = tokens._b64encode(raw)
    return f"{payload_b64}.{tokens._mac(SECRET, payload_b64)}"


GOOD = sign_token(SECRET, "HM2026000001234")
OTHER = sign_token(SECRET, "HM2026000009999")
G_PAYLOAD, G_MAC = GOOD.split(".")
O_PAYLOAD, O_MAC = OTHER.split(".")

TAMPERED = [
    pytest.param(_flip(GOOD, 0), id="flip-payload-first"),
    pytest.param(_flip(GOOD, len(G_PAYLOAD) - 1), id="flip-payload-last"),
    pytest.param(_flip(GOOD, len(G_PAYLOAD) + 1), id="flip-mac-first"),
    pytest.param(_flip(GOOD, len(GOOD) - 1), id="flip-mac-last"),
    pytest.param(f"{O_PAYLOAD}.{G_MAC}", id="other-policy-payload"),
    pytest.param(f"{G_PAYLOAD}.{O_MAC}", id="other-policy-mac"),
    pytest.param(GOOD[:-1], id="truncated-one"),
    pytest.param(GOOD[:-5], id="truncated-mac"),
    pytest.param(GOOD[1:], id="truncated-front"),
    pytest.param(G_PAYLOAD, id="payload-only"),
    pytest.param(G_PAYLOAD + ".", id="payload-dot"),
    pytest.param("." + G_MAC, id="dot-mac"),
    pytest.param("", id="empty"),
    pytest.param(".", id="just-a-dot"),
    pytest.param(GOOD + ".", id="trailing-dot"),
    pytest.param("." + GOOD, id="leading-dot"),
    pytest.param(GOOD + "." + G_MAC, id="three-parts"),
    pytest.param(G_PAYLOAD + ".." + G_MAC, id="double-dot"),
    pytest.param(GOOD + "A", id="one-char-longer"),
    pytest.param(GOOD + "=", id="padding"),
    pytest.param(G_PAYLOAD + "==." + G_MAC, id="padded-payload"),
    pytest.param(" " + GOOD, id="leading-space"),
    pytest.param(GOOD + "\n", id="trailing-newline"),
    pytest.param(GOOD.replace(".", "．"), id="fullwidth-dot"),
    pytest.param(GOOD[:-1] + "é", id="non-ascii-mac"),
    pytest.param("保单" + GOOD, id="non-ascii-prefix"),
    pytest.param(
        GOOD.replace("-", "+").replace("_", "/")
        if ("-" in GOOD or "_" in GOOD)
        else G_PAYLOAD + "+." + G_MAC,
        id="standard-base64-alphabet",
    ),
    pytest.param("A" * 500, id="500-chars"),
    pytest.param("A" * 250 + "." + G_MAC, id="over-long-payload"),
    pytest.param("A" * 178 + "." + G_MAC, id="201-chars"),
    pytest.param(GOOD.swapcase(), id="swapcase"),
    # Correct MAC, bad contents (a key shared with a bug must still not yield garbage)
    pytest.param(_forge("HM1:01"), id="version-leading-zero"),
    pytest.param(_forge("HM1:0"), id="version-zero"),
    pytest.param(_forge("HM1:-1"), id="version-negative"),
    pytest.param(_forge("HM1:+1"), id="version-plus"),
    pytest.param(_forge("HM1:1.0"), id="version-decimal"),
    pytest.param(_forge("HM1: 1"), id="version-space"),
    pytest.param(_forge("HM1:1234567"), id="version-too-big"),
    pytest.param(_forge("HM1:"), id="version-missing"),
    pytest.param(_forge("HM1"), id="no-separator"),
    pytest.param(_forge("HM1:1:2"), id="two-separators"),
    pytest.param(_forge(":1"), id="empty-policy-no"),
    pytest.param(_forge("X" * 33 + ":1"), id="policy-no-too-long"),
    pytest.param(_forge("HM 1:1"), id="policy-no-space"),
    pytest.param(_forge("保单:1".encode()), id="payload-utf8"),
    pytest.param(_forge(b"\xff\xfe:1"), id="payload-binary"),
]


@pytest.mark.parametrize("token", TAMPERED)
def test_tampered_tokens_are_rejected(token):
    with pytest.raises(CertificateTokenInvalid):
        verify_token(SECRET, token)


def test_non_canonical_base64_is_rejected_even_with_a_correct_mac():
    payload = tokens._b64encode(b"HM1:1")  # 7 chars: the last one carries spare bits
    assert len(payload) % 4 == 3
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = payload[:-1] + alphabet[alphabet.index(payload[-1]) + 1]  # same bytes, other text
    assert base64.b64decode(twin + "=", altchars=b"-_") == b"HM1:1"
    with pytest.raises(CertificateTokenInvalid):
        verify_token(SECRET, f"{twin}.{tokens._mac(SECRET, twin)}")


def test_wrong_secret_is_rejected():
    with pytest.raises(CertificateTokenInvalid):
        verify_token(OTHER_SECRET, GOOD)


@pytest.mark.parametrize("token", [None, GOOD.encode(), 12345])
def test_non_string_tokens_are_rejected(token):
    with pytest.raises(CertificateTokenInvalid):
        verify_token(SECRET, token)


def test_invalid_token_error_is_a_value_error_with_a_generic_message():
    with pytest.raises(ValueError) as caught:
        verify_token(SECRET, "A" * 500)
    assert str(caught.value) == "certificate token invalid"
    assert caught.value.reason == "too long"


@pytest.mark.parametrize(
    "policy_no, version",
    [
        ("", 1),
        ("HM 1", 1),
        ("HM:1", 1),
        ("HM.1", 1),
        ("保单", 1),
        ("X" * 33, 1),
        (None, 1),
        ("HM1", 0),
        ("HM1", -1),
        ("HM1", 1_000_000),
        ("HM1", True),
        ("HM1", 1.0),
        ("HM1", "1"),
    ],
)
def test_sign_token_refuses_bad_input(policy_no, version):
    with pytest.raises(ValueError):
        sign_token(SECRET, policy_no, version)


@pytest.mark.parametrize("secret", [b"", b"short", "a-str-secret-of-enough-length!!", None])
def test_secret_must_be_16_bytes_or_more(secret):
    with pytest.raises(ValueError):
        sign_token(secret, "HM1")
    with pytest.raises(ValueError):
        verify_token(secret, GOOD)


# --------------------------------------------------------------------------------------------
# The view
# --------------------------------------------------------------------------------------------


def make_view(**changes) -> CertificateView:
    view = CertificateView(
        policy_no="HM2026000001234",
        product_name="惠民保 2026（示范城市）",
        plan_year=2026,
        insured_name_masked="*三",
        id_number_masked="3607**********0018",
        relation_label="本人",
        coverage_start=date(2026, 1, 1),
        coverage_end=date(2026, 12, 31),
        status="active",
        status_label="有效",
        premium_fen=8900,
        issued_at=datetime(2025, 12, 20, 2, 30, tzinfo=UTC),
        insurer_line="承保：惠民保共保体（演示）",
        buckets=[
            ("医保范围内个人自付", "起付线 15,000 元，比例 75%/50%，封顶 150 万元"),
            ("医保范围外自费", "起付线 15,000 元，比例 60%，封顶 100 万元"),
            ("特定高额药品", "起付线 0 元，比例 70%，封顶 100 万元，覆盖 30 种药品清单内药品"),
        ],
    )
    return replace(view, **changes) if changes else view


def test_view_is_frozen_and_buckets_become_a_tuple():
    view = make_view()
    assert view.buckets[0] == (
        "医保范围内个人自付",
        "起付线 15,000 元，比例 75%/50%，封顶 150 万元",
    )
    assert isinstance(view.buckets, tuple)
    with pytest.raises(AttributeError):
        view.status = "void"  # type: ignore[misc]
    assert make_view() == view and hash(make_view()) == hash(view)


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"status": "lapsed"}, ValueError),
        ({"coverage_start": date(2027, 1, 1)}, ValueError),
        ({"premium_fen": 89.0}, TypeError),
    ],
)
def test_view_rejects_nonsense(changes, error):
    with pytest.raises(error):
        make_view(**changes)


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------


def verify_url(policy_no: str = "HM2026000001234", version: int = 1) -> str:
    return BASE_URL + sign_token(SECRET, policy_no, version)


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, names = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        names.append(data[pos + 4 : pos + 8].decode("ascii"))
        pos += 12 + length
    return names


def decode_qr(data: bytes) -> list:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))


@pytest.fixture
def no_host_fonts(monkeypatch):
    """A host without any font: opening anything but the shipped font fails, as it would on a
    machine with no CJK font (or none at all) installed."""
    real_truetype = ImageFont.truetype

    def shipped_only(font=None, *args, **kwargs):
        if str(font) != cert.FONT_PATH:
            raise OSError(f"no such font on this host: {font}")
        return real_truetype(font, *args, **kwargs)

    monkeypatch.setattr(ImageFont, "truetype", shipped_only)
    load_font.cache_clear()
    yield
    load_font.cache_clear()


def check_png(data: bytes, url: str) -> None:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.size == (cert.WIDTH, cert.HEIGHT) == (1240, 1754)
    assert img.mode == "RGB"
    img.verify()
    assert png_chunks(data) == ["IHDR"] + ["IDAT"] * (len(png_chunks(data)) - 2) + ["IEND"]
    results = decode_qr(data)
    assert [r.text for r in results] == [url]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert results[0].ec_level == "M"
    pos = results[0].position
    assert pos.top_right.x - pos.top_left.x >= 300 * 0.8  # symbol without its quiet zone


def test_render_png(no_host_fonts):
    url = verify_url()
    data = render_png(make_view(), url)
    check_png(data, url)
    # The link in the QR code carries a token that verifies back to the policy.
    token = parse_qs(urlsplit(decode_qr(data)[0].text).query)["token"][0]
    assert verify_token(SECRET, token) == ("HM2026000001234", 1)


def test_the_certificate_draws_chinese_with_the_shipped_font():
    """The title band shows the Chinese title: many dark-on-light glyph pixels in white, which
    a font without Chinese glyphs (boxes or blanks) would not draw the same way."""
    data = render_png(make_view(), verify_url())
    img = Image.open(io.BytesIO(data)).convert("RGB")
    band = img.crop((0, 0, cert.WIDTH, 190))
    white = dict((c, n) for n, c in band.getcolors(maxcolors=1 << 20)).get((255, 255, 255), 0)
    assert white > 5000
    expected = Image.new("RGB", (cert.WIDTH, 190), (11, 92, 122))
    ImageDraw.Draw(expected).text(
        (cert.WIDTH // 2, 95), cert.TITLE, font=load_font(64), fill=(255, 255, 255), anchor="mm"
    )
    assert band.tobytes() == expected.tobytes()


def test_output_is_deterministic(no_host_fonts):
    url = verify_url()
    assert render_png(make_view(), url) == render_png(make_view(), url)


def test_naive_issued_at_is_taken_as_utc():
    url = verify_url()
    naive = make_view(issued_at=datetime(2025, 12, 20, 2, 30))
    shanghai = make_view(
        issued_at=datetime(2025, 12, 20, 10, 30, tzinfo=timezone(timedelta(hours=8)))
    )
    assert render_png(naive, url) == render_png(make_view(), url) == render_png(shanghai, url)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"status": "surrendered", "status_label": "已退保"}, id="surrendered"),
        pytest.param({"status": "void", "status_label": "已作废"}, id="void"),
        pytest.param(
            {
                "buckets": [
                    (
                        f"保障责任{i}",
                        "起付线 15,000 元，比例 75%，封顶 150 万元，含特定药品与质子重离子治疗费用",
                    )
                    for i in range(20)
                ]
            },
            id="too-many-buckets",
        ),
        pytest.param({"buckets": []}, id="no-buckets"),
        pytest.param({"product_name": "惠民保" * 30}, id="very-long-product-name"),
        pytest.param({"insured_name_masked": "*\U00020bb7"}, id="name-char-outside-the-font"),
        pytest.param({"premium_fen": 123_456_789}, id="big-premium"),
        pytest.param(
            {
                "product_name": "Huimin Care 2026",
                "insurer_line": "Demo insurer",
                "buckets": [("Inpatient", "deductible 15,000 yuan")],
            },
            id="ascii-texts",
        ),
    ],
)
def test_variants_render_and_scan(no_host_fonts, changes):
    url = verify_url()
    data = render_png(make_view(**changes), url)
    check_png(data, url)


def test_longest_allowed_url_still_scans():
    url = BASE_URL + sign_token(SECRET, "X" * 32, 999_999)
    url += "&" + "p" * (cert.VERIFY_URL_MAX_LEN - len(url) - 1)
    assert len(url) == cert.VERIFY_URL_MAX_LEN
    check_png(render_png(make_view(), url), url)


@pytest.mark.parametrize(
    "url",
    ["", "x" * (cert.VERIFY_URL_MAX_LEN + 1), "http://127.0.0.1:5000/核验", "http://a/\n", None],
)
def test_render_png_refuses_bad_urls(url):
    with pytest.raises(ValueError):
        render_png(make_view(), url)


def test_qr_image_is_big_enough():
    img = cert.qr_image(verify_url())
    assert img.width == img.height
    assert cert.QR_MIN_PX <= img.width <= cert.QR_BOX_PX


def test_sample_image_for_a_human():
    """Writes the picture a developer looks at (outside the repository)."""
    url = verify_url()
    data = render_png(make_view(), url)
    with open("/tmp/huimin-cert-sample.png", "wb") as fh:
        fh.write(data)
    check_png(data, url)


# --------------------------------------------------------------------------------------------
# Fonts and text fitting
# --------------------------------------------------------------------------------------------


def test_the_shipped_font_covers_gb2312_and_the_project_texts():
    """Every GB2312 hanzi (6,763), the CJK punctuation, ASCII, the product definitions' and the
    demo residents' characters are in the shipped font."""
    from app.demo import residents
    from app.products import definitions

    gb2312 = set()
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                gb2312.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    assert len(gb2312) == 6763
    texts = "".join(
        path.read_text(encoding="utf-8")
        for path in Path(definitions.__path__[0]).iterdir()
        if path.suffix in {".toml", ".md"}
    ) + Path(residents.__file__).read_text(encoding="utf-8")
    wanted = gb2312 | set("，。、；：？！（）《》“”…—·￥") | {chr(c) for c in range(0x21, 0x7F)}
    wanted |= {ch for ch in texts if "\u4e00" <= ch <= "\u9fff"}
    missing = sorted(ch for ch in wanted if not shipped.covers(ch))
    assert missing == []


def test_the_shipped_font_is_small_and_licensed():
    font_dir = Path(shipped.FONT_PATH).parent
    assert Path(shipped.FONT_PATH).stat().st_size < 3_000_000
    assert "Apache License" in (font_dir / "LICENSE-Apache-2.0.txt").read_text()
    assert "WenQuanYi" in (font_dir / "NOTICE.txt").read_text()


def test_characters_missing_from_the_font_are_starred_not_tofu():
    pen = cert._Pen(Image.new("RGB", (10, 10)))
    assert pen.safe("*\U00020bb7", 32) == "**"
    assert pen.safe("张三 Policy", 32) == "张三 Policy"
    assert not has_glyph("\U00020bb7") and has_glyph("赟") and has_glyph("保")


def test_chinese_rows():
    rows = dict(cert.rows(make_view()))
    assert rows["保费"] == "89.00 元"
    assert rows["签发时间"] == "2025-12-20 10:30（北京时间）"
    assert rows["保障期间"] == "2026-01-01 至 2026-12-31"
    assert rows["被保险人"] == "*三"
    assert rows["与投保人关系"] == "本人"


def test_wrapping_keeps_numbers_whole_and_punctuation_off_line_starts():
    pen = cert._Pen(Image.new("RGB", (10, 10)))
    text = "起付线 15,000 元，比例 75%/50%，封顶 150 万元"
    for width in range(150, 700, 7):  # a word plus its comma fits from ~114 px
        lines = pen.wrap(text, 27, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        assert not any(line[:1] in cert._NO_LINE_START for line in lines)
        for line in lines:
            assert pen.width(line, 27) <= width or " " not in line.strip()
        joined = " ".join(lines)
        assert "15,000" in joined and "75%/50%" in joined


@pytest.mark.parametrize(
    "status, today, expected",
    [
        # a 2027 policy bought in December 2026: what the QR code's check says that day
        ("active", date(2026, 12, 6), "未生效"),
        ("active", date(2027, 1, 1), "有效"),
        ("active", date(2027, 12, 31), "有效"),
        ("active", date(2028, 1, 1), "已过期"),
        ("surrendered", date(2027, 3, 1), "退保处理中"),
        ("void", date(2026, 12, 6), "已终止"),
    ],
)
def test_the_status_a_certificate_shows_is_the_days_verdict(status, today, expected):
    from app.policies.certificate import status_text

    assert status_text(status, date(2027, 1, 1), date(2027, 12, 31), today) == expected
