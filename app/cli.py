"""Operator commands: `flask db-init`, `flask demo seed`, `flask staff create`,
`flask products load`, `flask products extend-window`, `flask products retire`."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data for the embedded default (sandbox adapters).")
staff_cli = AppGroup("staff", help="Staff accounts (reviewers, operators, organisation admins).")
products_cli = AppGroup("products", help="Products as data: load definitions, extend a window, retire.")


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


@products_cli.command("load")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def products_load(paths) -> None:
    """Validate and load product definitions (TOML). Default: app/products/definitions/*.toml.
    Idempotent: an unchanged file changes nothing."""
    from app.errors import DomainError
    from app.products.loader import DefinitionError
    from app.products.services import load_products

    try:
        summary = load_products(paths or None)
    except DefinitionError as exc:
        raise click.ClickException(str(exc)) from None
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    for key, value in summary.items():
        click.echo(f"{key}: {value}")


@products_cli.command("extend-window")
@click.argument("code")
@click.argument("new_close", metavar="YYYY-MM-DD", type=click.DateTime(formats=["%Y-%m-%d"]))
def products_extend_window(code: str, new_close) -> None:
    """Extend a product's enrollment window to NEW_CLOSE (inclusive; later only, within cover)."""
    from app.errors import DomainError
    from app.products.services import extend_window

    try:
        product = extend_window(code, new_close.date())
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    click.echo(f"{product.code}: window now {product.window_opens} .. {product.window_closes}")


@products_cli.command("retire")
@click.argument("code")
def products_retire(code: str) -> None:
    """Take a product off sale and out of the public catalogue (orders and policies keep it)."""
    from app.errors import DomainError
    from app.products.services import retire_product

    try:
        product = retire_product(code)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    click.echo(f"{product.code}: {product.status}")


@click.command("db-upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head on the configured database."""
    from app.migrate import upgrade_to_head

    upgrade_to_head()
    click.echo("database at head")


payments_cli = AppGroup("payments", help="Payment operations for the operator on call.")
ledger_cli = AppGroup("ledger", help="The premium ledger.")


@payments_cli.command("reconcile")
@click.option("--min-age", default=60, show_default=True, help="only payments older than this (s)")
def payments_reconcile(min_age: int) -> None:
    """Settle payments and refunds whose outcome is unknown; close expired orders."""
    from app.payments.services import reconcile

    for key, value in reconcile(min_age).items():
        click.echo(f"{key}: {value}")


@payments_cli.command("expire-orders")
def payments_expire_orders() -> None:
    """Close unpaid orders past their payment deadline."""
    from app.payments.services import expire_orders

    click.echo(f"closed: {expire_orders()}")


@ledger_cli.command("check")
def ledger_check() -> None:
    """Verify the premium ledger (every order) and every sponsor programme's budget ledger;
    exit 1 on any problem."""
    from app.payments.ledger import check_ledger
    from app.sponsors.services import check_programmes

    problems = [f"order {p.order_id} item {p.order_item_id}: {p.message}" for p in check_ledger()]
    problems += [f"programme {p.programme_id}: {p.message}" for p in check_programmes()]
    for line in problems:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo("ledger consistent")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(products_cli)
    app.cli.add_command(db_upgrade)
    app.cli.add_command(payments_cli)
    app.cli.add_command(ledger_cli)
