"""Figures shown on the landing page."""

from dataclasses import dataclass

from sqlalchemy import func, select

from extensions import db
from workers.models import Worker


@dataclass(frozen=True)
class LandingFigures:
    workers_listed: int
    workers_covered: int
    months_funded: int


def landing_figures() -> LandingFigures:
    listed = db.session.scalar(
        select(func.count()).select_from(Worker).where(Worker.is_listed.is_(True))
    )
    return LandingFigures(workers_listed=listed or 0, workers_covered=0, months_funded=0)
