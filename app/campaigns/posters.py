"""A campaign's printable QR poster, as PNG and as PDF (A4): the organisation, the campaign's
name, the QR code of its signed link, how to take part, who may, until when, in Chinese.

One layout, two renderers: `_layout` places every line and the QR code on an A4 page in points
(text measured with the project's CJK font, app/common/fonts.py), and the PNG (Pillow, 150 dpi)
and the PDF (reportlab, text kept as text) draw the same placements. The campaign is read with
the same scoping as the API (another organisation's campaign is a 404).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from app.auth.principal import Principal
from app.campaigns import rules
from app.campaigns.models import Campaign
from app.campaigns.services import eligibility_of, get_campaign, link_for
from app.common.clock import today_shanghai
from app.common.fonts import drawable, pillow_font, reportlab_font
from app.database import get_session
from app.sponsors.capacity import product_of_programme

PAGE_W, PAGE_H = 595.28, 841.89  # A4 in points
MARGIN = 48.0
PNG_DPI = 150
RED, WHITE, INK, GREY = "#b8322a", "#ffffff", "#222222", "#666666"
QR_SIZE = 230.0

STEPS = (
    "打开微信，扫描上方二维码，进入邀请页面",
    "登录并完成本人实名认证（需本人身份证号）",
    "核对参保信息，阅读并同意保险条款后确认参保",
    "参保成功后，可在“我的保单”中查看电子保单",
)
SAFETY = "本活动不向参保人收取任何费用，请勿向任何人透露短信验证码。"


@dataclass(frozen=True)
class Poster:
    organisation: str
    campaign_name: str
    product_name: str | None
    funding: str
    eligibility: list[str]
    validity: str
    link: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # top of the line, from the top of the page
    text: str
    size: float
    color: str
    centered: bool


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    color: str


def poster_of(actor: Principal, campaign_id: int) -> Poster:
    campaign: Campaign = get_campaign(actor, campaign_id)
    product = product_of_programme(get_session(), campaign.programme, on_sale_on=today_shanghai())
    org = drawable(campaign.organisation.name)
    on = campaign.expires_on
    return Poster(
        organisation=org,
        campaign_name=drawable(campaign.name),
        product_name=product.name if product is not None else None,
        funding=f"由{org}全额资助保费，本人无需付费",
        eligibility=rules.eligibility_lines(eligibility_of(campaign)),
        validity=f"有效期至 {on.year}年{on.month}月{on.day}日 · 名额 {campaign.quota} 人，先到先得",
        link=link_for(campaign),
    )


def _wrap(text: str, width: float, size: float, measure: Callable[[str, float], float]) -> list:
    """Break `text` into lines no wider than `width` (CJK text breaks between any characters)."""
    lines, line = [], ""
    for ch in text:
        if line and measure(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


def _layout(poster: Poster, measure: Callable[[str, float], float]) -> list[Text | Box]:
    items: list[Text | Box] = [Box(0, 0, PAGE_W, 150, RED)]
    y = 34.0

    def centered(text: str, size: float, color: str, gap: float = 0.4) -> None:
        nonlocal y
        for line in _wrap(text, PAGE_W - 2 * MARGIN, size, measure):
            items.append(Text(PAGE_W / 2, y, line, size, color, True))
            y += size * (1 + gap)

    centered("扫码免费参保", 36, WHITE, 0.35)
    centered(poster.product_name or "普惠型商业补充医疗保险（惠民保）", 17, WHITE)
    centered(poster.funding, 14, WHITE)
    y = 172.0
    centered(poster.campaign_name, 24, INK)
    centered(poster.organisation, 14, GREY)
    y += 6
    qr_top = y
    items.append(Box(PAGE_W / 2 - QR_SIZE / 2, qr_top, QR_SIZE, QR_SIZE, "qr"))
    y = qr_top + QR_SIZE + 10
    centered(poster.validity, 13, RED)
    y += 8

    def left(text: str, size: float, color: str, indent: float = 0.0) -> None:
        nonlocal y
        width = PAGE_W - 2 * MARGIN - indent
        for line in _wrap(text, width, size, measure):
            items.append(Text(MARGIN + indent, y, line, size, color, False))
            y += size * 1.45

    left("参加步骤", 16, RED)
    for number, step in enumerate(STEPS, start=1):
        left(f"{number}. {step}", 13, INK, 8)
    y += 6
    left("参加条件", 16, RED)
    for line in poster.eligibility:
        left(f"· {line}", 13, INK, 8)
    y = max(y + 10, PAGE_H - 70)
    items.append(Box(MARGIN, y - 8, PAGE_W - 2 * MARGIN, 0.8, GREY))
    left(SAFETY, 11, GREY)
    left(f"如有疑问，请联系{poster.organisation}。", 11, GREY)
    return items


def _qr(poster: Poster):
    from app.policies.certificate import qr_image

    return qr_image(poster.link)


def poster_png(actor: Principal, campaign_id: int) -> bytes:
    """The poster as an A4 PNG at 150 dpi."""
    from PIL import Image, ImageDraw
    from reportlab.pdfbase.pdfmetrics import stringWidth

    poster = poster_of(actor, campaign_id)
    name = reportlab_font()
    scale = PNG_DPI / 72
    image = Image.new("RGB", (round(PAGE_W * scale), round(PAGE_H * scale)), WHITE)
    draw = ImageDraw.Draw(image)
    for item in _layout(poster, lambda text, size: stringWidth(text, name, size)):
        if isinstance(item, Box):
            box = [round(v * scale) for v in (item.x, item.y, item.x + item.w, item.y + item.h)]
            if item.color == "qr":
                qr = _qr(poster).convert("RGB").resize((box[2] - box[0], box[3] - box[1]))
                image.paste(qr, (box[0], box[1]))
            else:
                draw.rectangle(box, fill=item.color)
        else:
            draw.text(
                (round(item.x * scale), round(item.y * scale)),
                item.text,
                font=pillow_font(round(item.size * scale)),
                fill=item.color,
                anchor="ma" if item.centered else "la",
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, dpi=(PNG_DPI, PNG_DPI))
    return out.getvalue()


def poster_pdf(actor: Principal, campaign_id: int) -> bytes:
    """The poster as an A4 PDF: the text stays text (searchable, sharp), the QR code an image."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    poster = poster_of(actor, campaign_id)
    name = reportlab_font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(PAGE_W, PAGE_H))
    canvas.setTitle(f"{poster.campaign_name} 邀请海报")
    canvas.setAuthor(poster.organisation)
    for item in _layout(poster, lambda text, size: stringWidth(text, name, size)):
        if isinstance(item, Box):
            bottom = PAGE_H - item.y - item.h
            if item.color == "qr":
                canvas.drawImage(
                    ImageReader(_qr(poster).convert("RGB")), item.x, bottom, item.w, item.h
                )
            else:
                canvas.setFillColor(HexColor(item.color))
                canvas.rect(item.x, bottom, item.w, item.h, stroke=0, fill=1)
        else:
            canvas.setFillColor(HexColor(item.color))
            canvas.setFont(name, item.size)
            baseline = PAGE_H - item.y - item.size * 0.88
            if item.centered:
                canvas.drawCentredString(item.x, baseline, item.text)
            else:
                canvas.drawString(item.x, baseline, item.text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
