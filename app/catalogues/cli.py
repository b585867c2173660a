"""Operator commands: `flask catalogues import --kind commercial --product ganzhou-demo-2026
--label 2026.1 --from 2026-01-01 [--to 2026-12-31] FILE` imports a catalogue version from a
CSV/XLSX file (the same all-or-nothing import as POST /staff/catalogues) and prints the per-row
report; `flask catalogues retire ID` takes a version out of force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.catalogues.models import CatalogueKind

catalogues_cli = AppGroup("catalogues", help="Product catalogues: 商保目录 and 特药目录.")

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _echo_report(report: dict[str, Any]) -> None:
    click.echo(report["summary"])
    for header in report["header_errors"]:
        click.echo(f"  表头: [{header['code']}] {header['message']}")
    for row in report["rows"]:
        if not row["ok"]:
            click.echo(f"  第 {row['row_number']} 行: [{row['code']}] {row['message']}")


@catalogues_cli.command("import")
@click.option("--kind", type=click.Choice([k.value for k in CatalogueKind]), required=True)
@click.option("--product", "product_code", required=True, help="product code")
@click.option("--label", required=True, help="version label, e.g. 2026.1")
@click.option("--from", "effective_from", type=DAY, required=True, help="first day in force")
@click.option("--to", "effective_to", type=DAY, default=None, help="last day (default: open)")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(kind, product_code, label, effective_from, effective_to, file: Path) -> None:
    """Import FILE as a new catalogue version, all or nothing."""
    from app.catalogues import services
    from app.errors import DomainError

    data = file.read_bytes()
    if len(data) > current_app.config["CATALOGUE_MAX_BYTES"]:
        raise click.ClickException("文件过大，请拆分后分批导入")
    try:
        result = services.import_catalogue(
            kind=kind,
            product_code=product_code,
            data=data,
            filename=file.name,
            label=label,
            effective_from=effective_from.date(),
            effective_to=effective_to.date() if effective_to else None,
            actor=None,
            limits=services.Limits.from_config(current_app.config),
        )
    except DomainError as exc:
        report = (exc.errors or {}).get("report")
        if report:
            _echo_report(report)
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    _echo_report(services.report_as_dict(result.report))
    version = result.version
    to = version.effective_to.isoformat() if version.effective_to else "长期"
    click.echo(
        f"imported version {version.id}: {version.kind} {version.label} of {product_code}, "
        f"{version.row_count} rows, {version.effective_from.isoformat()} .. {to}"
    )


@catalogues_cli.command("retire")
@click.argument("version_id", type=int)
def retire_command(version_id: int) -> None:
    """Take catalogue version VERSION_ID out of force."""
    from app.catalogues.services import retire_version
    from app.errors import DomainError

    try:
        version = retire_version(version_id, None)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    click.echo(f"version {version.id} ({version.kind} {version.label}): {version.status}")
