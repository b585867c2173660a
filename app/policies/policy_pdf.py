"""The electronic policy (电子保单) as a PDF in Chinese (pure: no Flask, no database).

``render_pdf(view, verify_url, ...)`` lays out an A4 page with reportlab: the policy's fields
(policyholder and insured person masked), the benefits table from the product definition, the
QR code of the verification link and the issuer. Every glyph comes from the font the project
ships (app/fonts), embedded as a subset, so the PDF reads the same on a host with no CJK font;
a character the font lacks is printed as ``*``. The output is deterministic for the same input
(reportlab's invariant mode: fixed dates and ids).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app import fonts
from app.policies.benefits import BenefitRow
from app.policies.certificate import CertificateView, qr_image, rows

FONT = "HuiminCJK"
TITLE = "电子保险单"
_BAND = colors.Color(11 / 255, 92 / 255, 122 / 255)
_GREY = colors.Color(0.43, 0.43, 0.43)
_RULE = colors.Color(0.82, 0.84, 0.85)
_RED = colors.Color(190 / 255, 30 / 255, 45 / 255)


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, fonts.FONT_PATH))


def _style(name: str, size: float, **kw) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=FONT, fontSize=size, leading=size * 1.45, wordWrap="CJK", **kw
    )


_TITLE = _style("title", 22, alignment=TA_CENTER, textColor=colors.white)
_SUB = _style("sub", 11, alignment=TA_CENTER, textColor=colors.white)
_H = _style("h", 13, textColor=_BAND, spaceBefore=10, spaceAfter=4)
_LABEL = _style("label", 9.5, textColor=_GREY)
_VALUE = _style("value", 10.5)
_CELL = _style("cell", 9)
_HEAD = _style("head", 9, textColor=colors.white)
_SMALL = _style("small", 8, textColor=_GREY)
_CENTER_SMALL = _style("csmall", 9, alignment=TA_CENTER)


def _table_style(commands: list) -> TableStyle:
    """A table style whose string cells (the empty filler ones) use the shipped font too, so the
    file names no other font."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


def _p(text: str, style: ParagraphStyle, color: colors.Color | None = None) -> Paragraph:
    markup = escape(fonts.drawable(text)).replace("\n", "<br/>")
    if color is not None:
        markup = f'<font color="{color.hexval()}">{markup}</font>'
    return Paragraph(markup, style)


def _fields_table(
    view: CertificateView, policyholder: str, width: float
) -> tuple[Table, list[tuple[str, str]]]:
    fields = rows(view)
    fields.insert(3, ("投保人", policyholder))
    cells = []
    for label, value in fields:
        color = _RED if label == "保单状态" and view.status != "active" else None
        cells.append([_p(label, _LABEL), _p(value, _VALUE, color)])
    half = (len(cells) + 1) // 2
    left, right = cells[:half], cells[half:]
    right += [["", ""]] * (len(left) - len(right))
    data = [a + b for a, b in zip(left, right)]
    label_w, value_w = 26 * mm, width / 2 - 26 * mm
    table = Table(data, colWidths=[label_w, value_w, label_w, value_w])
    table.setStyle(
        _table_style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.5, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table, fields


def _benefits_table(benefits: Sequence[BenefitRow], width: float) -> Table:
    head = [_p(t, _HEAD) for t in ("保障责任", "起付线", "赔付比例", "年度封顶", "说明")]
    data = [head]
    for row in benefits:
        data.append(
            [
                _p(row.name, _CELL),
                _p(row.deductible, _CELL),
                _p(row.ratio, _CELL),
                _p(row.cap, _CELL),
                _p("；".join(row.notes) or "—", _CELL),
            ]
        )
    widths = [w * width for w in (0.20, 0.15, 0.29, 0.15, 0.21)]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        _table_style(
            [
                ("BACKGROUND", (0, 0), (-1, 0), _BAND),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.5, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _qr_flowable(verify_url: str) -> Image:
    png = io.BytesIO()
    qr_image(verify_url).save(png, format="PNG")
    png.seek(0)
    return Image(png, width=42 * mm, height=42 * mm)


def render_pdf(
    view: CertificateView,
    verify_url: str,
    *,
    benefits: Sequence[BenefitRow],
    policyholder_name_masked: str,
    terms_title: str,
) -> bytes:
    """The policy as PDF bytes (A4, one page for the products we carry, deterministic)."""
    _register_font()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"{TITLE} {view.policy_no}",
        author=view.insurer_line,
        subject=view.product_name,
        creator="Huimin",
        invariant=1,
        initialFontName=FONT,  # no unused base-14 font in the file
    )
    width = doc.width
    band = Table(
        [[_p(TITLE, _TITLE)], [_p(f"{view.product_name}  ·  保单号 {view.policy_no}", _SUB)]],
        colWidths=[width],
    )
    band.setStyle(
        _table_style(
            [
                ("BACKGROUND", (0, 0), (-1, -1), _BAND),
                ("TOPPADDING", (0, 0), (-1, 0), 10),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 10),
            ]
        )
    )
    fields, _ = _fields_table(view, policyholder_name_masked, width)
    qr = Table(
        [
            [_qr_flowable(verify_url)],
            [_p("扫码核验保单真伪", _CENTER_SMALL)],
        ],
        colWidths=[48 * mm],
    )
    qr.setStyle(_table_style([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    notes = [
        _p(view.insurer_line, _VALUE),
        Spacer(1, 4),
        _p(f"保险责任、责任免除及理赔规则以《{terms_title}》为准。", _SMALL),
        _p("被保险人姓名与证件号码已作脱敏处理；扫描右侧二维码可查询保单的实时状态。", _SMALL),
        _p(f"核验链接：{verify_url}", _SMALL),
    ]
    footer = Table([[notes, qr]], colWidths=[width - 50 * mm, 50 * mm])
    footer.setStyle(_table_style([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [
        band,
        Spacer(1, 8),
        _p("保单信息", _H),
        fields,
        _p("保障责任", _H),
        _benefits_table(benefits, width),
        Spacer(1, 10),
        footer,
    ]
    doc.build(story)
    return out.getvalue()
