"""`flask direct-settlement ...`: register institutions, the sandbox hospital's discharge,
reconciliation reports and hospital statements (清算)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

direct_settlement_cli = AppGroup("direct-settlement", help="一站式结算 at the hospital counter.")


@direct_settlement_cli.command("add-institution")
@click.option("--code", required=True, help="fixmedins_code (定点医药机构编号)")
@click.option("--name", required=True)
@click.option("--key-id", required=True)
@click.option("--public-key", required=True, help="SM2 public key, 128 hex digits (x||y)")
@click.option("--payee-name", required=True)
@click.option("--bank", "bank_name", required=True)
@click.option("--account", required=True)
def add_institution(code, name, key_id, public_key, payee_name, bank_name, account) -> None:
    """Register (or re-key) a designated hospital."""
    from app.direct_settlement.ledger import register_institution

    try:
        register_institution(
            code=code,
            name=name,
            key_id=key_id,
            public_key=public_key,
            payee_name=payee_name,
            payee_bank_name=bank_name,
            payee_account=account,
        )
    except ValueError as exc:  # the key or the payee, refused before anything is written
        raise click.ClickException(str(exc)) from None
    click.echo(f"institution {code} registered (key {key_id})")


@direct_settlement_cli.command("add-sandbox-hospital")
@click.option("--code", required=True, help="a demo hospital's fixmedins_code, e.g. H36070200001")
@click.option("--name", default="沙箱定点医院", show_default=True)
def add_sandbox_hospital(code, name) -> None:
    """Register a sandbox hospital with the sandbox test key pair."""
    from app.direct_settlement.ledger import register_sandbox_hospital
    from app.integrations.signer import sandbox_keys as k

    register_sandbox_hospital(code, name)
    click.echo(f"sandbox hospital {code} registered (key {k.sandbox_key_id(code)})")


def _sandbox(code: str, url: str):
    """The sandbox hospital `code`, signing with the sandbox key, over HTTP to `url`."""
    import httpx

    from app.direct_settlement.sandbox_hospital import SandboxHospital
    from app.integrations.registry import signer
    from app.integrations.signer import sandbox_keys as k

    def send(method, path, headers, body):
        resp = httpx.request(method, url + path, headers=headers, content=body, timeout=30)
        return resp.status_code, resp.json()

    return SandboxHospital(signer(), k.sandbox_key_id(code), k.SANDBOX_PRIVATE_KEY, send)


def _echo(name: str, status: int, body) -> None:
    click.echo(f"{name}: {status} {json.dumps(body, ensure_ascii=False)}")
    if status != 200:
        raise SystemExit(1)


@direct_settlement_cli.command("sandbox-cancel")
@click.option("--code", required=True, help="the sandbox hospital's fixmedins_code")
@click.option("--setl-sn", required=True)
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
def sandbox_cancel(code, setl_sn, url) -> None:
    """撤销 as the sandbox hospital: cancel a settlement by its number."""
    _echo("cancel", *_sandbox(code, url).cancel(setl_sn))


@direct_settlement_cli.command("sandbox-reconcile")
@click.option("--code", required=True, help="the sandbox hospital's fixmedins_code")
@click.option("--day", required=True, help="YYYY-MM-DD (Asia/Shanghai)")
@click.option("--count", required=True, type=int)
@click.option("--sum-fen", required=True, type=int)
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
def sandbox_reconcile(code, day, count, sum_fen, url) -> None:
    """对账 as the sandbox hospital: post its count and sum for a day; prints the report."""
    _echo("reconciliation", *_sandbox(code, url).reconcile(day, count, sum_fen))


@direct_settlement_cli.command("sandbox-discharge")
@click.option("--psn-no", required=True, help="the patient's 医保个人编号")
@click.option("--setl-id", required=True, help="the bureau's settlement id of the stay")
@click.option("--setl-sn", default=None, help="the hospital's settlement number (default: new)")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True)
@click.option("--cancel", is_flag=True, help="then cancel it (撤销)")
def sandbox_discharge(psn_no, setl_id, setl_sn, url, cancel) -> None:
    """Play a discharge as the sandbox hospital against the running service: trial, confirm,
    query (and cancel), each request signed with the sandbox key."""
    import secrets

    from app.direct_settlement.sandbox_hospital import plain
    from app.integrations.registry import bureau

    record = bureau().settlement_record(psn_no, setl_id)
    if record is None:
        raise click.ClickException(f"the sandbox bureau has no settlement {setl_id} for {psn_no}")
    lines = bureau().fee_details(psn_no, setl_id, settlement=record) or []

    hospital = _sandbox(record.fixmedins_code, url)
    number = setl_sn or "SN" + secrets.token_hex(8).upper()
    steps = hospital.discharge(plain(record), [plain(line) for line in lines], number)
    if cancel and steps[-1][1] == 200:
        steps.append(("cancel", *hospital.cancel(number)))
    for name, status, body in steps:
        _echo(name, status, body)


def _figures(m: dict) -> str:
    """A mismatch's two figures with their unit: settlements for a count, fen for an amount."""
    if m["ours_count"] is not None or m["theirs_count"] is not None:
        return f"ours {m['ours_count']}, theirs {m['theirs_count']} settlements"
    return f"ours {m['ours_fen']} fen, theirs {m['theirs_fen']} fen"


@direct_settlement_cli.command("reconciliations")
@click.option("--mismatched", is_flag=True, help="only the reports with a mismatch")
@click.option(
    "--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="only this day"
)
def list_reconciliations(mismatched, day) -> None:
    """The latest reconciliation reports (mismatches listed); exit 1 while a hospital day's
    latest report is mismatched (--mismatched lists only those; --day only that day's)."""
    from app.direct_settlement.reports import reconciliations

    on = day.date() if day else None
    rows = reconciliations(day=on, mismatched_only=mismatched)
    unsettled = rows if mismatched else reconciliations(day=on, mismatched_only=True)
    for row in rows:
        state = "matched" if row["matched"] else "MISMATCH"
        click.echo(
            f"{row['fixmedins_code']} {row['day']} {state}: ours {row['our_count']} / "
            f"{row['our_sum_fen']} fen, theirs {row['their_count']} / {row['their_sum_fen']} fen"
        )
        for m in row["mismatches"]:
            click.echo(f"  {m['code']} {m['setl_sn'] or ''} {m['zh']} ({_figures(m)})")
    if unsettled:
        raise SystemExit(1)


@direct_settlement_cli.command("statements")
@click.option(
    "--through",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="cut-off day YYYY-MM-DD (Asia/Shanghai): settlements confirmed up to it [yesterday]",
)
def statements(through) -> None:
    """清算: pay each hospital what it is owed for the settlements confirmed up to the cut-off
    day, through the payout port. Exit 1 when the bank refused a statement (the reason is
    printed; correct the hospital's account with add-institution, then run it again)."""
    from app.common.clock import today_shanghai
    from app.direct_settlement.ledger import run_statements

    if through and through.date() > today_shanghai():
        # a day still to come has no settlements to pay yet, and a cut-off stored in the
        # future would leave every statement before it counting no settlements
        raise click.BadParameter("the cut-off day cannot be after today", param_hint="--through")
    rows = run_statements(through.date() if through else None)
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False))
    if any(row["status"] == "failed" for row in rows):
        raise SystemExit(1)


@direct_settlement_cli.command("purge-nonces")
@click.option(
    "--margin-seconds",
    type=click.IntRange(min=0),
    default=3600,
    show_default=True,
    help="kept beyond twice DIRECT_TIMESTAMP_WINDOW_SECONDS",
)
@click.option("--batch", type=click.IntRange(min=1), default=5000, show_default=True)
def purge_nonces(margin_seconds, batch) -> None:
    """Delete request nonces no signed request can replay any more (older than twice the
    timestamp window plus the margin), in batches. Run it hourly from cron."""
    from app.direct_settlement.services import purge_nonces as purge

    click.echo(f"purged {purge(margin_seconds, batch)} nonces")
