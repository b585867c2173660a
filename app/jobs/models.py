"""Jobs and their rows.

A job is claimed by one runner at a time: claiming (or taking over a stale job) writes a fresh
`runner_token`, and every batch commits only through an UPDATE of the job that names that token,
so a runner that lost the job (a slow worker declared dead) cannot commit anything more.
The counters `done` and `failed` change in the same transaction as the rows they count.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import Base, utcnow

JOB_KINDS = ("roster_enrollment",)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every row processed, every row enrolled
    COMPLETED_WITH_ERRORS = "completed_with_errors"  # every row processed, some rows failed
    FAILED = "failed"  # the job itself could not go on
    CANCELLED = "cancelled"


class JobRowStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


JOB_STATUSES = tuple(s.value for s in JobStatus)
ACTIVE_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
ROW_STATUSES = tuple(s.value for s in JobRowStatus)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    plan_year: Mapped[int]
    status: Mapped[str] = mapped_column(String(24), default=JobStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)  # rows enrolled
    failed: Mapped[int] = mapped_column(default=0)  # rows that could not be enrolled
    # The organisation admin who started it agreed to these terms for the people it enrolls.
    terms_version: Mapped[str] = mapped_column(String(32))
    terms_sha256: Mapped[str] = mapped_column(String(64))
    terms_agreed_at: Mapped[datetime]
    created_by_staff_id: Mapped[int | None]
    runner_token: Mapped[str | None] = mapped_column(String(32))
    runs: Mapped[int] = mapped_column(default=0)  # times claimed (1 + resumptions)
    error_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("kind IN ('roster_enrollment')", name="kind"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'completed_with_errors', 'failed', "
            "'cancelled')",
            name="status",
        ),
        CheckConstraint("done >= 0 AND failed >= 0 AND done + failed <= total", name="counts"),
        # One job at a time per programme: two would race for the same roster.
        Index(
            "uq_jobs_one_active_per_programme",
            "programme_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


class JobRow(Base):
    """One person of a job and what became of them. `succeeded` is written in the same
    transaction as the order and the policy, so a row is done exactly when its policy exists."""

    __tablename__ = "job_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    roster_entry_id: Mapped[int] = mapped_column(ForeignKey("roster_entries.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[str] = mapped_column(String(16), default=JobRowStatus.PENDING)
    code: Mapped[str | None] = mapped_column(String(40))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))  # when enrolled
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        UniqueConstraint("job_id", "roster_entry_id"),
        Index("ix_job_rows_job_status", "job_id", "status", "id"),
    )
