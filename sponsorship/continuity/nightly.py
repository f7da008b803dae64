"""The nightly continuity run: workers whose cover ran out go back to the directory as "needs a
sponsor", then the lapse alerts due today go out. Called by the Celery beat task
``sponsorship.continuity_nightly`` and by ``flask continuity alerts`` (for cron).

Every step is set-based: one UPDATE for the directory flags, keyset batches for the alerts,
one GROUP BY for the stage counts it reports. The run commits (per batch for the alerts).
"""

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import false, update

from extensions import db, utcnow
from sponsorship.continuity.lapse_alerts import DEFAULT_BATCH, AlertRun, send_lapse_alerts
from sponsorship.continuity.ledger import CoverageStage, StageBounds, stage_counts
from workers.models import Worker

log = logging.getLogger(__name__)


@dataclass
class NightlyRun:
    today: date
    flagged_needs_sponsor: int
    alerts: AlertRun
    stages: dict[CoverageStage, int]


def flag_uncovered_workers(today: date) -> int:
    """Workers in arrears or ended (cover ran out and the first uncovered month's dues are past
    due, so no sponsor renewed in time) go back to the directory as "needs a sponsor".

    The bulk form of ``workers.coverage.mark_needs_sponsor``;
    ``extend_coverage`` clears the flag again when someone pays. Returns how many workers were
    flagged now."""
    bounds = StageBounds.on(today)
    flagged = db.session.scalars(
        update(Worker)
        .where(Worker.covered_until < bounds.lapsing_from, Worker.needs_sponsor == false())
        .values(needs_sponsor=True, updated_at=utcnow())
        .returning(Worker.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.flush()
    return len(flagged)


def run_nightly(today: date, *, batch_size: int = DEFAULT_BATCH) -> NightlyRun:
    """The whole nightly run for ``today`` (Jakarta's date); safe to repeat or overlap."""
    flagged = flag_uncovered_workers(today)
    db.session.commit()
    alerts = send_lapse_alerts(today, batch_size=batch_size)
    stages = stage_counts(today)
    db.session.commit()
    log.info(
        "continuity %s: %s flagged, %s alert message(s) for %s worker(s)",
        today.isoformat(),
        flagged,
        alerts.messages,
        alerts.workers_seen,
    )
    return NightlyRun(today=today, flagged_needs_sponsor=flagged, alerts=alerts, stages=stages)
