"""A programme's roster: the people an organisation named for it, one entry per person, and each
upload with its per-row report.

No plaintext ID number is stored here. A roster entry points at the shared `Person` (ID number
encrypted, found by blind index); `persons.id_number_index` is unique, so the unique constraint on
(programme_id, person_id) is the constraint on (programme, person blind index): re-uploading the
same or an overlapping list, even two uploads at once, never lists anyone twice. The report keeps
masked values only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow

ROW_OUTCOMES = ("added", "already_listed", "already_insured", "invalid")


class RosterUpload(Base):
    __tablename__ = "roster_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    uploaded_by_staff_id: Mapped[int | None]
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx (sniffed, not the name)
    file_bytes: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(String(64))  # tells an identical re-upload
    rows_total: Mapped[int]
    rows_invalid: Mapped[int]
    added: Mapped[int]
    already_listed: Mapped[int]
    already_insured: Mapped[int]
    # Told at upload when the programme cannot pay for everyone on the roster (the numbers).
    budget_warning: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("file_format IN ('csv', 'xlsx')", name="file_format"),
        CheckConstraint(
            "rows_total = rows_invalid + added + already_listed + already_insured",
            name="rows_add_up",
        ),
    )


class RosterEntry(Base):
    __tablename__ = "roster_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("roster_uploads.id"))  # the first listing
    category: Mapped[str | None] = mapped_column(String(24))
    id_number_masked: Mapped[str] = mapped_column(String(24))
    # Where the first listing put them: the line of the upload's file and the name as written
    # there (masked), so that the HR clerk can find a failed row in their own file.
    line: Mapped[int | None]
    name_masked: Mapped[str | None] = mapped_column(String(64))
    # The name the latest upload gave (not masked): the batch enrolment asks the bureau with it,
    # so a row whose name does not go with its ID number is refused there, whatever name the
    # person has from another roster. Null on entries listed before it was kept.
    name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("programme_id", "person_id"),)


class RosterReportRow(Base):
    """One line of an uploaded file and what became of it (masked name and ID number only)."""

    __tablename__ = "roster_report_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("roster_uploads.id"))
    line: Mapped[int]
    name_masked: Mapped[str] = mapped_column(String(64))
    id_number_masked: Mapped[str] = mapped_column(String(48))
    category: Mapped[str | None] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint(
            "outcome IN ('added', 'already_listed', 'already_insured', 'invalid')", name="outcome"
        ),
        Index("ix_roster_report_rows_upload_line", "upload_id", "line"),
    )
