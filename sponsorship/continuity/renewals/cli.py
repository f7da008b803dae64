"""``flask continuity renew [--today YYYY-MM-DD]``: the nightly automatic-renewal run for cron
(Celery beat runs the same ``run_renewals`` as ``sponsorship.run_renewals``)."""

from datetime import date

import click

from core.cli import today_option
from sponsorship.continuity.renewals.run import run_renewals


@click.command("renew")
@today_option
def renew_command(today: date) -> None:
    """Charge the saved cards of renewals due today, retry declines, release stopped plans."""
    summary = run_renewals(today=today)
    click.echo(
        f"day={today.isoformat()} claimed={summary.claimed} charged={summary.charged} "
        f"declined={summary.declined} released={summary.released}"
    )
