"""Donation receipts (捐赠凭证) as PDF: one per top-up of one of the caller's organisation's
programmes, from the programme's append-only budget ledger, so a receipt downloaded twice is
the same receipt (same number, same figures).

The Ganzhou scheme encourages employers to insure their staff and caring enterprises to donate
cover for people in difficulty, "符合规定的允许在税前扣除". A receipt records that the money
went into the programme's budget: donor, 统一社会信用代码, amount in figures and in capitals
(大写), date, programme, purpose and a receipt number. It says plainly that the statutory
voucher for a charitable deduction is the 公益事业捐赠票据 (this platform is not the issuer of
one). Another organisation's entry, a reservation or money handed back is the same 404.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

from flask import current_app
from sqlalchemy import select

from app.auth.principal import Principal
from app.common.clock import SHANGHAI, now_utc
from app.common.fonts import drawable, reportlab_font
from app.common.money import rmb_uppercase, yuan
from app.database import read_scope
from app.error_catalogue import E
from app.sponsors.models import Organisation, Programme, ProgrammeLedgerEntry

KIND_LABELS = {
    "employer": "用人单位",
    "charity": "慈善组织",
    "relief_fund": "救助资金",
    "paired_assistance": "结对帮扶单位",
}
TITLES = {
    "employer": "惠民保资助款凭证",
    "charity": "捐赠凭证",
    "relief_fund": "资助资金凭证",
    "paired_assistance": "捐赠凭证",
}
PURPOSES = {
    "employer": "为本单位职工参加普惠型商业补充医疗保险（惠民保）支付保费",
    "charity": "资助困难群众参加普惠型商业补充医疗保险（惠民保），保费由本资助项目支付",
    "relief_fund": "救助资金资助困难群众参加普惠型商业补充医疗保险（惠民保）",
    "paired_assistance": "资助结对帮扶的困难群众参加普惠型商业补充医疗保险（惠民保）",
}
TAX_NOTE = (
    "《赣州市普惠型商业补充医疗保险实施方案》：鼓励企业以福利费等方式为本单位职工投保赣州惠民保，"
    "鼓励爱心企业为城乡困难群众捐赠赣州惠民保，符合规定的允许在税前扣除。"
    "本凭证证明上述款项已拨入所列资助项目的预算，专款用于所列用途，可作为办理税前扣除的记录留存；"
    "公益性捐赠的税前扣除以财政部门监（印）制的公益事业捐赠票据等法定凭证为准。"
)


def receipt_number(entry_id: int, on: date) -> str:
    """Stable and unique: the ledger entry is written once and never changes."""
    return f"HMB-JZ-{on:%Y%m%d}-{entry_id:08d}"


def _entry_date(created_at: datetime) -> date:
    stamp = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return stamp.astimezone(SHANGHAI).date()


def receipt(actor: Principal, entry_id: int) -> dict:
    """The receipt's figures: only a top-up of one of the caller's organisation's programmes."""
    with read_scope() as session:
        found = session.execute(
            select(ProgrammeLedgerEntry, Programme, Organisation)
            .join(Programme, Programme.id == ProgrammeLedgerEntry.programme_id)
            .join(Organisation, Organisation.id == Programme.organisation_id)
            .where(
                ProgrammeLedgerEntry.id == entry_id,
                ProgrammeLedgerEntry.kind == "top_up",
                Programme.organisation_id == actor.organisation_id,
            )
        ).first()
        if found is None or actor.organisation_id is None:
            raise E.donation_not_found()
        entry, programme, org = found
        on = _entry_date(entry.created_at)
        return {
            "number": receipt_number(entry.id, on),
            "title": TITLES[org.kind],
            "entry_id": entry.id,
            "date": on,
            "amount_fen": entry.amount_fen,
            "amount_yuan": yuan(entry.amount_fen),
            "amount_upper": "人民币" + rmb_uppercase(entry.amount_fen),
            "organisation_name": org.name,
            "organisation_uscc": org.uscc,
            "organisation_kind": KIND_LABELS[org.kind],
            "programme_id": programme.id,
            "programme_name": programme.name,
            "plan_year": programme.plan_year,
            "purpose": PURPOSES[org.kind],
            "issuer": current_app.config["SPONSOR_RECEIPT_ISSUER"],
        }


def receipt_pdf(actor: Principal, entry_id: int) -> bytes:
    """The receipt as an A4 PDF set in the project's CJK font (subset into the file)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    data = receipt(actor, entry_id)
    font = reportlab_font()

    def style(size: float, **extra) -> ParagraphStyle:
        return ParagraphStyle(
            f"s{size}", fontName=font, fontSize=size, leading=size * 1.5, wordWrap="CJK", **extra
        )

    body, small = style(11), style(9, textColor=colors.HexColor("#444444"))
    on = data["date"]
    rows = [
        ("凭证编号", data["number"]),
        ("捐赠（出资）单位", data["organisation_name"]),
        ("统一社会信用代码", data["organisation_uscc"]),
        ("单位类别", data["organisation_kind"]),
        (
            "资助项目",
            f"{data['programme_name']}（编号 {data['programme_id']}，{data['plan_year']} 保障年度）",
        ),
        ("用途", data["purpose"]),
        ("金额（小写）", f"¥ {data['amount_yuan']} 元"),
        ("金额（大写）", data["amount_upper"]),
        ("入账日期", f"{on.year}年{on.month}月{on.day}日"),
        ("账目流水号", str(data["entry_id"])),
    ]
    table = Table(
        # What people typed (names of the organisation and the programme) is escaped for
        # reportlab's markup and drawn only with glyphs the shipped font has.
        [[Paragraph(k, body), Paragraph(escape(drawable(v)), body)] for k, v in rows],
        colWidths=[38 * mm, 132 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#8a1c1c")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#fbf1ef")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=22 * mm,
        bottomMargin=20 * mm,
        title=f"{data['title']} {data['number']}",
        author=data["issuer"],
        subject=data["purpose"],
    )
    issued = now_utc().astimezone(SHANGHAI)
    doc.build(
        [
            Paragraph(data["title"], style(22, alignment=TA_CENTER)),
            Spacer(1, 2 * mm),
            Paragraph("赣州惠民保 · 资助项目预算入账记录", style(11, alignment=TA_CENTER)),
            Spacer(1, 8 * mm),
            table,
            Spacer(1, 6 * mm),
            Paragraph("说明", body),
            Paragraph(TAX_NOTE, small),
            Spacer(1, 10 * mm),
            Paragraph(f"出具方：{data['issuer']}", body),
            Paragraph(f"出具时间：{issued:%Y-%m-%d %H:%M}（北京时间）", small),
        ]
    )
    return out.getvalue()
