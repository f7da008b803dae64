"""What the ``flask`` commands share: ``--today YYYY-MM-DD`` for jobs that run for one day."""

from collections.abc import Callable
from typing import TypeVar

import click

from core.dates import jakarta_today

F = TypeVar("F", bound=Callable[..., object])


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
