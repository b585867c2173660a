"""Operator commands: `flask disclosure export --plan-year 2026 [--format csv|json] [--output F]`
writes the insurer's settlement for a plan year (the same figures as
GET /staff/disclosure/settlement[.csv]); `flask disclosure fold-counters` folds the counters'
slot rows (aggregates.fold_counters; schedule it every few minutes)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

disclosure_cli = AppGroup("disclosure", help="Disclosure: the insurer's yearly settlement.")


@disclosure_cli.command("export")
@click.option("--plan-year", type=click.IntRange(2000, 2100), required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="write to this file instead of standard output",
)
def export(plan_year: int, fmt: str, output: str | None) -> None:
    """Export the settlement of PLAN_YEAR: loss ratio against the floor, the corridor, the
    surplus carried forward. CSV is UTF-8 with a byte-order mark, as the download."""
    from app.disclosure.services import settlement_csv, settlement_report

    report = settlement_report(plan_year)
    text = (
        settlement_csv(report)
        if fmt == "csv"
        else json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    )
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        click.echo(f"wrote {len(report['products'])} product(s) to {output}", err=True)
    else:
        click.echo(text, nl=False)


@disclosure_cli.command("fold-counters")
def fold_counters_command() -> None:
    """Fold each counter cell's slot rows into one row (the figures do not change; reads get
    cheaper). Safe while payments run."""
    from app.database import transaction
    from app.disclosure.aggregates import fold_counters

    with transaction() as session:
        folded = fold_counters(session)
    click.echo(f"folded {folded} slot row(s)", err=True)
