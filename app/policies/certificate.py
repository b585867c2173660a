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

Fonts (certificate_fonts.py): always the CJK font the project ships (app/fonts), never a host
font, so every host draws the same Chinese certificate. A character the font lacks (a rare name
character, say) is drawn as ``*``, never as a tofu box.

Money: ``fen_to_yuan_text`` is app.common.money.yuan: two decimals and thousands grouping
(``1234567`` -> ``"12,345.67"``), with integer arithmetic only.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw

from app.common.money import yuan
from app.policies.certificate_fonts import FONT_PATH, has_glyph, load_font
from app.policies.certificate_tokens import (
    MAC_BYTES,
    POLICY_NO_RE,
    TOKEN_MAX_LEN,
    CertificateTokenInvalid,
    sign_token,
    verify_token,
)

__all__ = [
    "FONT_PATH",
    "HEIGHT",
    "MAC_BYTES",
    "POLICY_NO_RE",
    "QR_BOX_PX",
    "QR_MIN_PX",
    "SHANGHAI",
    "STATUS_LABELS",
    "VERDICT_LABELS",
    "TOKEN_MAX_LEN",
    "VERIFY_URL_MAX_LEN",
    "WIDTH",
    "CertificateTokenInvalid",
    "CertificateView",
    "Verdict",
    "fen_to_yuan_text",
    "qr_image",
    "render_png",
    "sign_token",
    "verify_token",
    "verdict",
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


class Verdict(StrEnum):
    """What the verification page tells whoever scanned the QR code, on a given day."""

    IN_FORCE = "in_force"  # active and the day is within the coverage period
    NOT_YET_EFFECTIVE = "not_yet_effective"  # active, cover starts later
    EXPIRED = "expired"  # active, the coverage period has ended
    TERMINATED = "terminated"  # surrendered or void: no cover, whatever the dates say


VERDICT_LABELS = {
    Verdict.IN_FORCE: "有效",
    Verdict.NOT_YET_EFFECTIVE: "未生效",
    Verdict.EXPIRED: "已过期",
    Verdict.TERMINATED: "已终止",
}


def verdict(status: str, coverage_start: date, coverage_end: date, today: date) -> Verdict:
    """The verdict for a policy's status and period on ``today`` (an Asia/Shanghai date)."""
    if status not in STATUS_LABELS:
        raise ValueError(f"unknown status {status!r}")
    if status != "active":
        return Verdict.TERMINATED
    if today < coverage_start:
        return Verdict.NOT_YET_EFFECTIVE
    if today > coverage_end:
        return Verdict.EXPIRED
    return Verdict.IN_FORCE


def status_text(status: str, coverage_start: date, coverage_end: date, today: date) -> str:
    """The 保单状态 a certificate or policy PDF made on ``today`` shows: what the QR code's check
    says that day for an active policy (有效 / 未生效 / 已过期), the stored status otherwise."""
    if status != "active":
        return STATUS_LABELS[status]
    return VERDICT_LABELS[verdict(status, coverage_start, coverage_end, today)]


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
# Texts
# --------------------------------------------------------------------------------------------

TITLE = "电子保险凭证"
ROW_LABELS = (
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
)
SECTION = "保障责任"
FOOTER = "扫码核验保单真伪"
MORE = "……更多保障责任详见保险条款"
_STATUS_ROW = ROW_LABELS.index("保单状态")


def _printable_ascii(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def issued_text(issued_at: datetime) -> str:
    """``issued_at`` (naive = UTC) as Beijing time, ``2026-01-05 09:30``."""
    aware = issued_at if issued_at.tzinfo else issued_at.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def period_text(start: date, end: date) -> str:
    return f"{start.isoformat()} 至 {end.isoformat()}"


def rows(view: CertificateView) -> list[tuple[str, str]]:
    """(label, value) for each field row of the certificate (the PNG and the PDF)."""
    values = (
        view.policy_no,
        view.product_name,
        f"{view.plan_year} 年度",
        view.insured_name_masked,
        view.id_number_masked,
        view.relation_label,
        period_text(view.coverage_start, view.coverage_end),
        view.status_label,
        f"{fen_to_yuan_text(view.premium_fen)} 元",
        f"{issued_text(view.issued_at)}（北京时间）",
    )
    return list(zip(ROW_LABELS, values))


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

    def __init__(self, img: Image.Image):
        self.draw = ImageDraw.Draw(img)

    def font(self, size: int):
        return load_font(size)

    def safe(self, text: str, size: int) -> str:
        return "".join(ch if has_glyph(ch) else "*" for ch in text)

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
    img = Image.new("RGB", (WIDTH, HEIGHT), _WHITE)
    pen = _Pen(img)
    draw = pen.draw
    right = WIDTH - _MARGIN

    # Title band
    draw.rectangle((0, 0, WIDTH, 190), fill=_BAND)
    pen.text((WIDTH // 2, 95), TITLE, 64, _WHITE, anchor="mm")

    # Fields
    label_size, value_size, line_h = 30, 32, 56
    value_x = _MARGIN + 270
    y = 240
    for i, (label, value) in enumerate(rows(view)):
        fill = _RED if (i == _STATUS_ROW and view.status != "active") else _INK
        pen.text((_MARGIN, y + 4), label, label_size, _GREY)
        for line in pen.wrap(value, value_size, right - value_x):
            pen.text((value_x, y), line, value_size, fill)
            y += line_h
    y += 6
    draw.line((_MARGIN, y, right, y), fill=_RULE, width=2)

    # Benefits (left) and QR code (right)
    y += 26
    pen.text((_MARGIN, y), SECTION, 34, _BAND)
    top = y + 60
    footer_rule = HEIGHT - 150
    qr_x = right - QR_BOX_PX + (QR_BOX_PX - qr.width) // 2
    img.paste(qr.convert("RGB"), (qr_x, top))
    pen.text((qr_x + qr.width // 2, top + qr.height + 14), FOOTER, 30, _INK, anchor="ma")

    col_right = right - QR_BOX_PX - 40
    name_size, summary_size, summary_h = 30, 27, 40
    y = top + 10
    bottom = footer_rule - 30
    items = list(view.buckets)
    for k, (name, summary) in enumerate(items):
        lines = pen.wrap(summary, summary_size, col_right - _MARGIN - 20)
        need = 44 + len(lines) * summary_h + 18
        if y + need > bottom - (summary_h if k < len(items) - 1 else 0):
            pen.text((_MARGIN, y), MORE, summary_size, _GREY)
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
    if view.insurer_line:
        pen.text((WIDTH // 2, footer_rule + 50), view.insurer_line, 28, _INK, anchor="ma")

    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False, compress_level=9)  # no pnginfo, no dpi
    return out.getvalue()
