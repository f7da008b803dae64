"""``flask continuity …``: the continuity jobs for cron (Celery beat runs the same code).

To add a command, write it as a ``click.command`` in your own module and add it here with
``continuity_cli.add_command``; use ``core.cli.today_option`` for a ``--today YYYY-MM-DD`` that
tests and catch-up runs can set.
"""

from datetime import date

import click
from flask.cli import AppGroup

from core.cli import today_option
from sponsorship.continuity.lapse_alerts import DEFAULT_BATCH
from sponsorship.continuity.nightly import run_nightly
from sponsorship.continuity.renewals.cli import renew_command

continuity_cli = AppGroup("continuity", help="Keep workers covered: lapse alerts and renewals.")


@continuity_cli.command("alerts")
@today_option
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=DEFAULT_BATCH)
def alerts_command(today: date, batch_size: int) -> None:
    """Flag workers whose cover ran out and send the 14/7/1-day lapse alerts (once each)."""
    run = run_nightly(today, batch_size=batch_size)
    click.echo(
        f"day={today.isoformat()} flagged_needs_sponsor={run.flagged_needs_sponsor} "
        f"sponsor_emails={run.alerts.sponsor_emails} worker_texts={run.alerts.worker_texts}"
    )
    click.echo(" ".join(f"{stage}={count}" for stage, count in run.stages.items()))


continuity_cli.add_command(renew_command)
