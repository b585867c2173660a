"""Tables behind the sandbox bureau: the synthetic residents the embedded default knows.
They play the part of the bureau's own records and are never used by a production profile."""
from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base


class SandboxResident(Base):
    __tablename__ = "sandbox_residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    certno_enc: Mapped[str] = mapped_column(Text)
    certno_index: Mapped[str] = mapped_column(String(64), unique=True)
    psn_no: Mapped[str] = mapped_column(String(40), unique=True)
    psn_name: Mapped[str] = mapped_column(String(64))
    gend: Mapped[str] = mapped_column(String(1))
    brdy: Mapped[date]
    insutype: Mapped[str] = mapped_column(String(3))
    psn_insu_stas: Mapped[str] = mapped_column(String(1))
    paus_insu_date: Mapped[date | None]
    insuplc_admdvs: Mapped[str] = mapped_column(String(12))
    # Personal-account balance in fen (employee insurance only).
    balc_fen: Mapped[int | None]
    idet_types: Mapped[list] = mapped_column(JSON, default=list)
