"""The electronic policy certificate (电子保险凭证), as pure code: no Flask, no database.

Three pieces:

* **Verification tokens** for the QR link: ``sign_token`` / ``verify_token`` (in
  certificate_tokens.py, importable from here) produce and check ``<payload>.<mac>``, which
  names a policy and a certificate version and carries no expiry and no status.

* **CertificateView**: everything the picture shows, already masked and labelled by the caller.

* **render_png**: a 1240x1754 PNG (A-series 1:√2 portrait; A5 printed at about 210 dpi),
  drawn with Pillow, with the QR code (error correction M, at least 300 px) that
  encodes ``verify_url``. The output is deterministic for the same inputs and carries no
  metadata chunks: only IHDR, IDAT and IEND.

Fonts (certificate_fonts.py): Chinese text needs a CJK font, which ``find_cjk_font`` looks for
once. Without one, the certificate is drawn in English with Pillow's default font, names fully
starred, and any other Chinese text replaced by an English label or a placeholder. Even with a
CJK font, a character the font lacks (a rare name character, say) is drawn as ``*``, never as a
tofu box.

Money: ``fen_to_yuan_text`` is app.common.money.yuan: two decimals and thousands grouping
(``1234567`` -> ``"12,345.67"``), with integer arithmetic only.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw

from app.common.money import yuan

# render_png looks find_cjk_font up in this module, so replacing it here (as the tests do to
# draw the English fallback) changes which font the certificate is drawn with.
from app.policies.certificate_fonts import CJK_FONT_CANDIDATES, find_cjk_font, has_glyph, load_font
from app.policies.certificate_tokens import (
    MAC_BYTES,
    POLICY_NO_RE,
    TOKEN_MAX_LEN,
    CertificateTokenInvalid,
    sign_token,
    verify_token,
)

__all__ = [
    "CJK_FONT_CANDIDATES",
    "HEIGHT",
    "MAC_BYTES",
    "POLICY_NO_RE",
    "QR_BOX_PX",
    "QR_MIN_PX",
    "SHANGHAI",
    "STATUS_LABELS",
    "TOKEN_MAX_LEN",
    "VERIFY_URL_MAX_LEN",
    "WIDTH",
    "CertificateTokenInvalid",
    "CertificateView",
    "fen_to_yuan_text",
    "find_cjk_font",
    "qr_image",
    "render_png",
    "sign_token",
    "verify_token",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------


# The one yuan formatter (app/common/money.py), under the name this module has always exported
# (policies.services and the tests use it): two decimals, comma grouping, ints only.
fen_to_yuan_text = yuan


# --------------------------------------------------------------------------------------------
# The view
# --------------------------------------------------------------------------------------------

# surrendered: the member surrendered and refunds are in flight; void: refunded, cover ended.
STATUS_LABELS = {"active": "有效", "surrendered": "退保处理中", "void": "已终止"}
_STATUS_LABELS_EN = {"active": "In force", "surrendered": "Surrender in progress", "void": "Ended"}
_RELATION_LABELS_EN = {
    "本人": "Self",
    "配偶": "Spouse",
    "子女": "Child",
    "父母": "Parent",
    "父亲": "Father",
    "母亲": "Mother",
    "儿子": "Son",
    "女儿": "Daughter",
}


@dataclass(frozen=True)
class CertificateView:
    """What one certificate shows. Names and ID numbers arrive already masked.

    ``buckets`` is a sequence of ``(name, summary_line)`` pairs, stored as a tuple of tuples so
    the view really is immutable. ``issued_at`` may be naive (taken as UTC, as SQLite returns
    it) or aware; it is shown in Asia/Shanghai time."""

    policy_no: str
    product_name: str
    plan_year: int
    insured_name_masked: str
    id_number_masked: str
    relation_label: str
    coverage_start: date
    coverage_end: date
    status: str
    status_label: str
    premium_fen: int
    issued_at: datetime
    insurer_line: str
    buckets: Sequence[tuple[str, str]] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUS_LABELS:
            raise ValueError(f"unknown status {self.status!r}")
        if self.coverage_start > self.coverage_end:
            raise ValueError("coverage_start is after coverage_end")
        if isinstance(self.premium_fen, bool) or not isinstance(self.premium_fen, int):
            raise TypeError("premium_fen must be an int")
        object.__setattr__(
            self, "buckets", tuple((str(name), str(summary)) for name, summary in self.buckets)
        )


# --------------------------------------------------------------------------------------------
# Texts for the two font situations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Texts:
    title: str
    labels: tuple[str, ...]  # one per row of _rows()
    section: str
    footer: str
    to: str
    premium_unit: tuple[str, str]  # (prefix, suffix)
    year_suffix: str
    time_suffix: str
    more: str


_ZH = _Texts(
    title="电子保险凭证",
    labels=(
        "保单号",
        "产品名称",
        "保障年度",
        "被保险人",
        "证件号码",
        "与投保人关系",
        "保障期间",
        "保单状态",
        "保费",
        "签发时间",
    ),
    section="保障责任",
    footer="扫码核验保单真伪",
    to=" 至 ",
    premium_unit=("", " 元"),
    year_suffix=" 年度",
    time_suffix="（北京时间）",
    more="……更多保障责任详见保险条款",
)
_EN = _Texts(
    title="Electronic policy certificate",
    labels=(
        "Policy no.",
        "Product",
        "Plan year",
        "Insured",
        "ID number",
        "Relationship",
        "Coverage",
        "Status",
        "Premium",
        "Issued at",
    ),
    section="Benefits",
    footer="Scan to verify this policy",
    to=" to ",
    premium_unit=("CNY ", ""),
    year_suffix="",
    time_suffix=" (UTC+8)",
    more="... more benefits: see the policy terms",
)


def _printable_ascii(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def _latin_or(text: str, placeholder: str) -> str:
    return text if _printable_ascii(text) else placeholder


def _star_non_ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "*" for ch in text)


def _issued_text(issued_at: datetime) -> str:
    aware = issued_at if issued_at.tzinfo else issued_at.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _rows(view: CertificateView, t: _Texts, cjk: bool) -> list[tuple[str, str]]:
    prefix, suffix = t.premium_unit
    if cjk:
        product, name, relation = view.product_name, view.insured_name_masked, view.relation_label
        status = view.status_label
    else:
        product = _latin_or(view.product_name, "Huimin supplementary medical insurance")
        name = _star_non_ascii(view.insured_name_masked)
        relation = _RELATION_LABELS_EN.get(view.relation_label, _latin_or(view.relation_label, "-"))
        status = _STATUS_LABELS_EN[view.status]
    values = (
        view.policy_no,
        product,
        f"{view.plan_year}{t.year_suffix}",
        name,
        view.id_number_masked,
        relation,
        f"{view.coverage_start.isoformat()}{t.to}{view.coverage_end.isoformat()}",
        status,
        f"{prefix}{fen_to_yuan_text(view.premium_fen)}{suffix}",
        f"{_issued_text(view.issued_at)}{t.time_suffix}",
    )
    return list(zip(t.labels, values))


def _buckets(view: CertificateView, cjk: bool) -> list[tuple[str, str]]:
    if cjk:
        return list(view.buckets)
    out = []
    for i, (name, summary) in enumerate(view.buckets, start=1):
        out.append((_latin_or(name, f"Benefit {i}"), _latin_or(summary, "see the policy terms")))
    return out


# --------------------------------------------------------------------------------------------
# QR code
# --------------------------------------------------------------------------------------------

QR_MIN_PX = 300
QR_BOX_PX = 400
VERIFY_URL_MAX_LEN = 512


def qr_image(verify_url: str) -> Image.Image:
    """A 1-bit QR image of ``verify_url`` (error correction M, 4-module quiet zone), scaled by a
    whole number of pixels per module to the largest size that fits ``QR_BOX_PX``; never below
    ``QR_MIN_PX``."""
    if not isinstance(verify_url, str) or not verify_url or len(verify_url) > VERIFY_URL_MAX_LEN:
        raise ValueError(
            f"verify_url must be a non-empty string of at most {VERIFY_URL_MAX_LEN} characters"
        )
    if not _printable_ascii(verify_url):
        raise ValueError("verify_url must be printable ASCII (percent-encode anything else)")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    qr.add_data(verify_url)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    img = Image.new("1", (n, n), 1)
    img.putdata([0 if dark else 1 for row in matrix for dark in row])
    scale = QR_BOX_PX // n
    if n * scale < QR_MIN_PX:  # cannot happen within VERIFY_URL_MAX_LEN; kept honest
        raise ValueError("verify_url too long for a scannable QR code in the box")
    return img.resize((n * scale, n * scale), Image.Resampling.NEAREST)


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

WIDTH, HEIGHT = 1240, 1754
_MARGIN = 90
_BAND = (11, 92, 122)
_INK = (26, 26, 26)
_GREY = (110, 110, 110)
_RULE = (210, 214, 218)
_RED = (190, 30, 45)
_WHITE = (255, 255, 255)


_NO_LINE_START = set("，。、；：？！）》」』”’%,.;:?!)")


class _Pen:
    """Draws text in one typeface, starring any character the font cannot draw."""

    def __init__(self, img: Image.Image, font_path: str | None):
        self.draw = ImageDraw.Draw(img)
        self.path = font_path

    def font(self, size: int):
        return load_font(self.path, size)

    def safe(self, text: str, size: int) -> str:
        return "".join(ch if has_glyph(self.path, size, ch) else "*" for ch in text)

    def width(self, text: str, size: int) -> float:
        return self.draw.textlength(self.safe(text, size), font=self.font(size))

    def text(self, xy, text: str, size: int, fill, anchor: str = "la") -> None:
        self.draw.text(xy, self.safe(text, size), font=self.font(size), fill=fill, anchor=anchor)

    def wrap(self, text: str, size: int, max_width: float) -> list[str]:
        """Greedy wrap: Latin words and numbers stay whole, CJK breaks between characters, and
        closing punctuation never starts a line (the word before it comes along)."""
        tokens = re.findall(r"[\x21-\x7e]+|\s+|.", self.safe(text, size), flags=re.S)
        lines: list[str] = []
        line: list[str] = []
        for tok in tokens:
            if line and self.width("".join(line) + tok, size) > max_width:
                if tok in _NO_LINE_START and len(line) > 1 and not line[-1].isspace():
                    carry = line.pop()
                    lines.append("".join(line).rstrip())
                    line = [carry, tok]
                else:
                    lines.append("".join(line).rstrip())
                    line = [] if tok.isspace() else [tok]
            else:
                line.append(tok)
            current = "".join(line)
            while self.width(current, size) > max_width and len(current) > 1:  # one huge word
                cut = len(current) - 1
                while cut > 1 and self.width(current[:cut], size) > max_width:
                    cut -= 1
                lines.append(current[:cut])
                current = current[cut:]
                line = [current]
        if "".join(line).strip():
            lines.append("".join(line).rstrip())
        return lines or [""]


def render_png(view: CertificateView, verify_url: str) -> bytes:
    """The certificate as PNG bytes (1240x1754, RGB, no metadata, deterministic)."""
    qr = qr_image(verify_url)
    font_path = find_cjk_font()
    cjk = font_path is not None
    t = _ZH if cjk else _EN

    img = Image.new("RGB", (WIDTH, HEIGHT), _WHITE)
    pen = _Pen(img, font_path)
    draw = pen.draw
    right = WIDTH - _MARGIN

    # Title band
    draw.rectangle((0, 0, WIDTH, 190), fill=_BAND)
    pen.text((WIDTH // 2, 95), t.title, 64 if cjk else 56, _WHITE, anchor="mm")

    # Fields
    label_size, value_size, line_h = 30, 32, 56
    value_x = _MARGIN + 270
    y = 240
    for i, (label, value) in enumerate(_rows(view, t, cjk)):
        fill = _RED if (i == 7 and view.status != "active") else _INK
        pen.text((_MARGIN, y + 4), label, label_size, _GREY)
        for line in pen.wrap(value, value_size, right - value_x):
            pen.text((value_x, y), line, value_size, fill)
            y += line_h
    y += 6
    draw.line((_MARGIN, y, right, y), fill=_RULE, width=2)

    # Benefits (left) and QR code (right)
    y += 26
    pen.text((_MARGIN, y), t.section, 34, _BAND)
    top = y + 60
    footer_rule = HEIGHT - 150
    qr_x = right - QR_BOX_PX + (QR_BOX_PX - qr.width) // 2
    img.paste(qr.convert("RGB"), (qr_x, top))
    pen.text((qr_x + qr.width // 2, top + qr.height + 14), t.footer, 30, _INK, anchor="ma")

    col_right = right - QR_BOX_PX - 40
    name_size, summary_size, summary_h = 30, 27, 40
    y = top + 10
    bottom = footer_rule - 30
    items = _buckets(view, cjk)
    for k, (name, summary) in enumerate(items):
        lines = pen.wrap(summary, summary_size, col_right - _MARGIN - 20)
        need = 44 + len(lines) * summary_h + 18
        if y + need > bottom - (summary_h if k < len(items) - 1 else 0):
            pen.text((_MARGIN, y), t.more, summary_size, _GREY)
            break
        draw.rectangle((_MARGIN, y + 8, _MARGIN + 6, y + 34), fill=_BAND)
        pen.text((_MARGIN + 20, y), name, name_size, _INK)
        y += 44
        for line in lines:
            pen.text((_MARGIN + 20, y), line, summary_size, _GREY)
            y += summary_h
        y += 18

    # Footer
    draw.line((_MARGIN, footer_rule, right, footer_rule), fill=_RULE, width=2)
    insurer = view.insurer_line if cjk else _latin_or(view.insurer_line, "")
    if insurer:
        pen.text((WIDTH // 2, footer_rule + 50), insurer, 28, _INK, anchor="ma")

    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=9)  # no pnginfo, no dpi
    return out.getvalue()
