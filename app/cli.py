"""Operator commands: `flask db-init`, `flask demo seed`, `flask demo settlement`, `flask staff create`,
`flask staff unlock`,
`flask products load`, `flask products extend-window`, `flask products close-window`,
`flask products retire`, `flask claims ...` (incl. `release-final-rejections`),
`flask catalogues import|retire`, `flask outbox deliver`, `flask members purge-retained`,
`flask errors doc`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data for the embedded default (sandbox adapters).")
staff_cli = AppGroup("staff", help="Staff accounts (reviewers, operators, organisation admins).")
errors_cli = AppGroup("errors", help="The error-code catalogue (app/error_catalogue.py).")
products_cli = AppGroup(
    "products", help="Products as data: load definitions, extend a window, retire."
)


@demo_cli.command("seed")
@click.option(
    "--family/--no-family",
    default=True,
    show_default=True,
    help="also enroll the showcase family (sandbox code demo-zhangwei) as of last "
    "December, so their 2026 settlements can be claimed",
)
def demo_seed(family: bool) -> None:
    """Seed the sandbox bureau's synthetic residents, demo staff and the demo product's
    catalogues (idempotent)."""
    from app.demo.seed import seed_demo

    summary = seed_demo()
    if family:
        from app.demo.family import seed_family
        from app.demo.residents import generate

        summary["family_policies_created"] = seed_family(generate(10))
        from app.demo.claims import seed_review_claims
        from app.demo.family import DEMO_CODE
        from app.integrations.registry import wechat_login

        openid = wechat_login().code_to_session(DEMO_CODE).openid
        summary["claims_filed_for_review"] = seed_review_claims(openid)
    from app.demo.charity import seed_charity
    from app.demo.seed import DEMO_STAFF_PASSWORD

    summary.update(seed_charity(DEMO_STAFF_PASSWORD))
    from app.demo.catalogues import seed_catalogues

    summary.update(seed_catalogues())
    for key, value in summary.items():
        click.echo(f"{key}: {value}")


@demo_cli.command("activity")
@click.option("--people", default=80, show_default=True, type=click.IntRange(1, 230))
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 60))
def demo_activity(people: int, days: int) -> None:
    """Enroll some of the synthetic residents over the last days (for the operator dashboard;
    development only, idempotent). Run `demo seed` first."""
    from app.demo.activity import seed_activity
    from app.demo.residents import generate

    for key, value in seed_activity(generate(), people=people, days=days).items():
        click.echo(f"{key}: {value}")


@demo_cli.command("settlement")
@click.option("--psn-no", required=True, help="the sandbox resident's psn_no")
@click.option("--amount", required=True, help="total cost in yuan, e.g. 23680.50")
@click.option(
    "--care-kind",
    default="in_patient",
    show_default=True,
    type=click.Choice(
        ["in_patient", "emergency", "day_surgery", "chronic_outpatient", "special_drug"]
    ),
)
@click.option(
    "--date",
    "discharged_on",
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="discharge date (Asia/Shanghai); default yesterday",
)
def demo_settlement(psn_no: str, amount: str, care_kind: str, discharged_on) -> None:
    """Have the sandbox bureau record a new settlement for a resident (sandbox only)."""
    from app.demo.seed import add_demo_settlement
    from app.integrations.bureau.sandbox_settlements import UnknownResident

    try:
        record = add_demo_settlement(
            psn_no, amount, care_kind, discharged_on.date() if discharged_on else None
        )
    except (UnknownResident, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"setl_id: {record.setl_id}")
    click.echo(f"care: {record.care_kind} {record.begndate} .. {record.enddate}")
    for name in (
        "medfee_sumamt_fen",
        "hifp_pay_fen",
        "hifmi_pay_fen",
        "hifob_pay_fen",
        "maf_pay_fen",
        "psn_part_amt_fen",
        "in_policy_self_pay_fen",
        "out_of_policy_self_pay_fen",
    ):
        click.echo(f"{name}: {getattr(record, name)}")


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
            username=username,
            role=role,
            password=password,
            display_name=display_name or username,
            organisation_id=organisation_id,
        )
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    click.echo(f"created staff account {account.id} ({account.username}, {account.role})")


@staff_cli.command("unlock")
@click.argument("username")
def staff_unlock(username: str) -> None:
    """Lift USERNAME's sign-in lock (failed sign-ins, docs/ratelimits.md): its failure window
    starts from zero. Audited (staff.login_unlocked, channel cli) when failures were cleared.
    Needs the shared limit storage (REDIS_URL): exit 1 when there is none or it is down
    (rate_limit_unavailable; the console and the API can still unlock in their worker)."""
    from flask import current_app

    from app.auth.accounts import release_login_lock_of
    from app.common.clock import SHANGHAI
    from app.errors import DomainError

    if current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        raise click.ClickException(
            "the limit storage is the service process's memory (no REDIS_URL): a command "
            "cannot reach it. Unlock on the console's account page, or with "
            "POST /staff/accounts/<id>/login-lock/release"
        )
    try:
        view, before = release_login_lock_of(username)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    if before.locked and before.locked_until is not None:
        until = before.locked_until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{view.username}: unlocked (was locked until {until} Asia/Shanghai, "
            f"{before.failures} failed sign-ins)"
        )
    elif before.failures:
        click.echo(f"{view.username}: not locked; {before.failures} failed sign-ins cleared")
    else:
        click.echo(f"{view.username}: not locked; nothing to clear")


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


@products_cli.command("close-window")
@click.argument("code")
@click.argument("last_day", metavar="YYYY-MM-DD", type=click.DateTime(formats=["%Y-%m-%d"]))
def products_close_window(code: str, last_day) -> None:
    """Close a product's enrollment window early: LAST_DAY (inclusive) is the last day to enroll."""
    from app.errors import DomainError
    from app.products.services import close_window

    try:
        product = close_window(code, last_day.date())
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    click.echo(f"{product.code}: window now {product.window_opens} .. {product.window_closes}")


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


def _min_age(what: str):
    """--min-age for a reconciliation: how old an unresolved item must be (seconds)."""
    return click.option(
        "--min-age",
        type=click.IntRange(min=0),
        default=60,
        show_default=True,
        help=f"only {what} older than this (s)",
    )


payments_cli = AppGroup("payments", help="Payment operations for the operator on call.")
ledger_cli = AppGroup("ledger", help="The premium ledger.")
members_cli = AppGroup("members", help="Members' accounts: the end of retention.")


@members_cli.command("purge-retained")
@click.option("--dry-run", is_flag=True, help="count what would be erased; change nothing")
@click.option("--batch-size", type=click.IntRange(min=1), default=50, show_default=True)
def members_purge_retained(dry_run: bool, batch_size: int) -> None:
    """Erase what closed accounts past their retain_until still hold, then the hospital trials
    and sponsor rosters past their own retention (docs/privacy.md); one account, trial batch or
    programme per transaction; safe to rerun. Exit 1 when one failed (it stays due)."""
    from app.members.retention import purge_retained

    counts, failures = purge_retained(dry_run=dry_run, batch_size=batch_size)
    click.echo(f"accounts: {counts.pop('accounts', 0)}" + (" (dry run)" if dry_run else ""))
    for key, value in sorted(counts.items()):
        click.echo(f"{key}: {value}")
    for line in failures:
        click.echo(line)
    if failures:
        raise SystemExit(1)


@payments_cli.command("reconcile")
@_min_age("payments")
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
    from app.claims.services import check_claim_ledger

    problems += check_claim_ledger()
    from app.direct_settlement.ledger import check_hospital_ledger

    problems += check_hospital_ledger()
    for line in problems:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo("ledger consistent")


claims_cli = AppGroup("claims", help="Claim operations for the operator on call.")
outbox_cli = AppGroup("outbox", help="Member notifications waiting in the outbox.")


@claims_cli.command("adjudicate-pending")
def claims_adjudicate_pending() -> None:
    """Adjudicate claims left 'submitted' (e.g. by a crash between submit and adjudication)."""
    from app.claims.services import adjudicate_pending

    click.echo(f"adjudicated: {adjudicate_pending()}")


@claims_cli.command("reconcile-payouts")
@_min_age("transfers")
def claims_reconcile_payouts(min_age: int) -> None:
    """Resolve pending transfers by query; retry transfers that failed for a transient reason."""
    from app.claims.services import reconcile_payouts

    for key, value in reconcile_payouts(min_age).items():
        click.echo(f"{key}: {value}")


@claims_cli.command("release-final-rejections")
def claims_release_final_rejections() -> None:
    """Give back the special-drug cap reserved by purchase claims whose rejection is final (the
    复核 period passed with nothing asked, or the recheck upheld it); idempotent, run daily."""
    from app.special_drugs.purchases import release_final_rejections

    click.echo(f"released: {release_final_rejections()}")


@claims_cli.command("rerun")
@click.argument("product_code")
@click.option("--apply", is_flag=True, help="store the new figures on claims awaiting review")
def claims_rerun(product_code: str, apply: bool) -> None:
    """Re-run adjudication for a product's claims after a product change (dry run by default;
    settled claims are only reported)."""
    from app.claims.services import rerun_for_product
    from app.errors import DomainError

    try:
        rows = rerun_for_product(product_code, apply=apply)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    changed = [r for r in rows if r["before_fen"] != r["after_fen"]]
    for r in changed:
        click.echo(
            f"{r['claim_no']} {r['status']}: {r['before_fen']} -> {r['after_fen']} fen"
            + (" (settled: not changed)" if r["settled"] else "")
        )
    click.echo(f"claims: {len(rows)}, changed: {len(changed)}, applied: {apply}")


@outbox_cli.command("deliver")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def outbox_deliver(limit: int) -> None:
    """Send due member notifications through the notifier port."""
    from app.outbox.services import deliver_pending

    for key, value in deliver_pending(limit).items():
        click.echo(f"{key}: {value}")


@errors_cli.command("doc")
def errors_doc() -> None:
    """Print docs/errors.md (code | HTTP | 中文说明): `flask errors doc > docs/errors.md`."""
    from app.error_docs import markdown_table

    click.echo(markdown_table(), nl=False)


def register_cli(app: Flask) -> None:
    from app.catalogues.cli import catalogues_cli
    from app.direct_settlement.cli import direct_settlement_cli
    from app.disclosure.cli import disclosure_cli

    app.cli.add_command(disclosure_cli)
    app.cli.add_command(catalogues_cli)
    app.cli.add_command(direct_settlement_cli)
    app.cli.add_command(claims_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(products_cli)
    app.cli.add_command(errors_cli)
    app.cli.add_command(db_upgrade)
    app.cli.add_command(payments_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(members_cli)
