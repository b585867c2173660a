"""Operator commands: `flask db-init`, `flask demo seed`, `flask staff create`."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data for the embedded default (sandbox adapters).")
staff_cli = AppGroup("staff", help="Staff accounts (reviewers, operators, organisation admins).")


@demo_cli.command("seed")
def demo_seed() -> None:
    """Seed the sandbox bureau's synthetic residents and demo staff (idempotent)."""
    from app.demo.seed import seed_demo

    summary = seed_demo()
    for key, value in summary.items():
        click.echo(f"{key}: {value}")


@staff_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True)
@click.option("--display-name", default=None)
@click.option("--organisation-id", type=int, default=None)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def staff_create(username, role, display_name, organisation_id, password) -> None:
    """Create a staff account. The password is read from the prompt (or --password)."""
    from app.auth.services import create_staff_account
    from app.errors import DomainError

    try:
        account = create_staff_account(
            username=username, role=role, password=password,
            display_name=display_name or username, organisation_id=organisation_id,
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    click.echo(f"created staff account {account.id} ({account.username}, {account.role})")


@click.command("db-upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head on the configured database."""
    from app.migrate import upgrade_to_head

    upgrade_to_head()
    click.echo("database at head")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(db_upgrade)
