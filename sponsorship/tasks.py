"""Celery tasks of sponsorship: the nightly continuity and renewal runs."""

from datetime import date

from celery import shared_task

from core.dates import jakarta_today
from sponsorship.continuity.nightly import run_nightly
from sponsorship.continuity.renewals.run import run_renewals as run


@shared_task(name="sponsorship.continuity_nightly", ignore_result=True)
def continuity_nightly(today_iso: str | None = None) -> None:
    """The nightly continuity run (flags and lapse alerts); safe to repeat or overlap."""
    run_nightly(date.fromisoformat(today_iso) if today_iso else jakarta_today())


@shared_task(name="sponsorship.run_renewals", ignore_result=True)
def run_renewals(today_iso: str | None = None) -> None:
    """The nightly automatic-renewal run (charges exactly once per period, even run twice)."""
    run(today=date.fromisoformat(today_iso) if today_iso else None)
