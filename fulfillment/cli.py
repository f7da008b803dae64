"""``flask fulfillment …``: the sweeper for cron, remittance files, and an operator's tools."""

import time
from datetime import date, timedelta
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from bundles.models import Partner, PartnerKind
from core.dates import jakarta_today
from extensions import db
from fulfillment import sweeper
from fulfillment.models import FulfillmentItem, RemittanceFile
from fulfillment.operations import actions
from fulfillment.partners import remittance

fulfillment_cli = AppGroup("fulfillment", help="Issue, sweep and reconcile bundle parts.")


@fulfillment_cli.command("sweep")
@click.option("--loop", "every", type=float, default=None, help="Sweep again every N seconds.")
def sweep_command(every: float | None) -> None:
    """Re-enqueue stuck items, due retries and refunds; send claim codes and digests."""
    while True:
        report = sweeper.sweep()
        db.session.commit()
        counts = report.as_dict()
        if every is None or any(counts.values()):  # a quiet loop stays quiet
            click.echo(" ".join(f"{name}={value}" for name, value in counts.items()))
        if every is None:
            return
        time.sleep(every)


@fulfillment_cli.command("status")
def status_command() -> None:
    """How many items are in each status."""
    rows = db.session.execute(
        select(FulfillmentItem.status, func.count()).group_by(FulfillmentItem.status)
    ).all()
    for status, count in sorted(rows):
        click.echo(f"{status:18} {count}")


def _insurer(partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.kind != PartnerKind.INSURER:
        raise click.ClickException(f"partner {partner_id} is not an insurer")
    return partner


@fulfillment_cli.command("remittance-file")
@click.option("--insurer", "partner_id", type=int, required=True, help="The insurer's partner id.")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Jakarta business day (default: yesterday).",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def remittance_file_command(partner_id: int, day: object, output: Path | None) -> None:
    """Write the insurer's daily remittance file (CSV)."""
    business_date = day.date() if day else jakarta_today() - timedelta(days=1)  # type: ignore[attr-defined]
    file = remittance.build_remittance_file(_insurer(partner_id), business_date)
    content = remittance.remittance_csv(file)
    db.session.commit()
    if output is None:
        click.echo(content, nl=False)
    else:
        output.write_text(content, encoding="utf-8")
        click.echo(f"{output}: {file.row_count} remittance(s), Rp{file.total_idr:,}", err=True)


@fulfillment_cli.command("reconcile")
@click.option("--insurer", "partner_id", type=int, required=True)
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.argument("confirmation", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def reconcile_command(partner_id: int, day: object, confirmation: Path) -> None:
    """Reconcile the insurer's confirmation file against that day's remittance file."""
    business_date: date = day.date()  # type: ignore[attr-defined]
    file = db.session.scalar(
        select(RemittanceFile).where(
            RemittanceFile.partner_id == _insurer(partner_id).id,
            RemittanceFile.business_date == business_date,
        )
    )
    if file is None:
        raise click.ClickException("no remittance file for that insurer and day")
    try:
        report = remittance.reconcile_confirmation(file, confirmation.read_bytes())
    except remittance.ConfirmationRefused as refused:
        db.session.rollback()
        for problem in refused.shown:
            click.echo(f"line {problem.row}: {problem.message}", err=True)
        raise click.ClickException("confirmation file refused; nothing changed") from None
    db.session.commit()
    click.echo(
        f"confirmed={report.confirmed} mismatched={len(report.mismatched)} "
        f"unknown={len(report.unknown)} missing={len(report.missing)}"
    )


@fulfillment_cli.command("retry")
@click.argument("item_id", type=int)
@click.option("--reason", required=True)
def retry_command(item_id: int, reason: str) -> None:
    """Retry one item now, with a fresh attempt budget."""
    try:
        actions.retry_item(item_id, actor_id=None, reason=reason)
    except actions.ActionRefused as refused:
        db.session.rollback()
        raise click.ClickException(str(refused.message)) from None
    db.session.commit()
    click.echo(f"item {item_id} queued")
