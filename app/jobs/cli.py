"""`flask jobs resume`: run again the jobs whose runner died (and queued jobs no worker took)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Long-running jobs (batch enrollment).")


@jobs_cli.command("resume")
def jobs_resume() -> None:
    """Queue every stale job again (with no broker configured, run it here and now)."""
    from app.jobs.services import resume_stale

    ids = resume_stale()
    click.echo(f"resumed: {len(ids)}" + (f" ({', '.join(map(str, ids))})" if ids else ""))
