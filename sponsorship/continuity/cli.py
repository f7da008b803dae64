"""``flask continuity …``: the continuity jobs for cron (Celery beat runs the same code).

To add a command, decorate it with ``@continuity_cli.command("name")`` in your own module and
import that module at the bottom of this one (or call ``continuity_cli.add_command``); use
``today_option`` for a ``--today YYYY-MM-DD`` that tests and catch-up runs can set.
"""

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import click
from flask.cli import AppGroup

from core.dates import jakarta_today
from sponsorship.continuity.lapse_alerts import DEFAULT_BATCH
from sponsorship.continuity.nightly import run_nightly

F = TypeVar("F", bound=Callable[..., object])

continuity_cli = AppGroup("continuity", help="Keep workers covered: lapse alerts and renewals.")


def today_option(command: F) -> F:
    """``--today YYYY-MM-DD`` (default: today in Jakarta), passed on as ``today: date``."""
    return click.option(
        "--today",
        "today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        callback=lambda _ctx, _param, value: value.date() if value else jakarta_today(),
        help="The day to run for (default: today in Jakarta).",
    )(command)


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


# Commands defined in their own modules (they import continuity_cli from here).
import sponsorship.continuity.renewals.cli  # noqa: E402, F401  (flask continuity renew)
