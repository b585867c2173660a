"""`flask renewals run CODE` / `resume RUN_ID` / `report RUN_ID`: the operator's renewal run."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.errors import DomainError

renewals_cli = AppGroup("renewals", help="续保 Renewal runs.")


def _print(run) -> None:
    from app.renewals.runs import run_counts, run_outcomes

    click.echo(
        f"run {run.id}: {run.status} (plan year {run.plan_year}), "
        f"{run.processed}/{run.total} processed, started {run.runs} time(s)"
    )
    for status, n in run_counts(run.id).items():
        if n:
            click.echo(f"  {status}: {n}")
    for outcome in run_outcomes(run.id):
        click.echo(
            f"  outcome {outcome.id} person {outcome.person_id}: {outcome.status}"
            + (f" ({outcome.reason_code})" if outcome.reason_code else "")
        )


@renewals_cli.command("run")
@click.argument("product_code")
def run_command(product_code: str) -> None:
    """Renew the consenting members of the product PRODUCT_CODE renews (its window must be open)."""
    from app.renewals.runs import start_run

    try:
        _print(start_run(product_code))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None


@renewals_cli.command("resume")
@click.argument("run_id", type=int)
def resume_command(run_id: int) -> None:
    """Take up a stopped renewal run where it stopped."""
    from app.renewals.runs import resume

    try:
        _print(resume(run_id))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None


@renewals_cli.command("report")
@click.argument("run_id", type=int)
def report_command(run_id: int) -> None:
    """Print a renewal run's progress and outcomes."""
    from app.renewals.runs import report_run

    try:
        _print(report_run(run_id))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
