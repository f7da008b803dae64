"""The sponsor directory: which listed workers match a sponsor's filters, in what order, and
the selections sponsors make from it for checkout.

Every filter and sort reads an indexed column of ``workers`` (see the indexes on Worker); a page
of the directory is read by ``workers.directory.page`` in a constant number of statements.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import AnonymousUserMixin
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, select

from accounts.models import Role, User
from core.dates import jakarta_today, years_before
from core.identity import AgeBand, Gender, Occupation
from extensions import db
from i18n import number
from workers.coverage import CoverageStatus, status_condition
from workers.enrolment.invitations import invited_worker_ids
from workers.models import Worker, WorkerPhoto, WorkerSelection, WorkerSelectionItem
from workers.registry import RegistryError
from workers.search import search_condition

PAGE_SIZE = 24
DEFAULT_MAX_SELECTION = 10_000

# URL keys for the age bands (the band values hold "<", "+" and en dashes).
AGE_BAND_KEYS: dict[str, AgeBand] = {
    "under-18": AgeBand.UNDER_18,
    "18-24": AgeBand.FROM_18_TO_24,
    "25-34": AgeBand.FROM_25_TO_34,
    "35-44": AgeBand.FROM_35_TO_44,
    "45-54": AgeBand.FROM_45_TO_54,
    "55-plus": AgeBand.FROM_55,
}
_AGE_BOUNDS: dict[AgeBand, tuple[int, int | None]] = {
    AgeBand.UNDER_18: (0, 17),
    AgeBand.FROM_18_TO_24: (18, 24),
    AgeBand.FROM_25_TO_34: (25, 34),
    AgeBand.FROM_35_TO_44: (35, 44),
    AgeBand.FROM_45_TO_54: (45, 54),
    AgeBand.FROM_55: (55, None),
}


class DirectorySort(StrEnum):
    LONGEST_UNCOVERED = "longest-uncovered"
    LAPSING_SOONEST = "lapsing-soonest"

    @property
    def label(self) -> LazyString:
        return _SORT_LABELS[self]


_SORT_LABELS = {
    DirectorySort.LONGEST_UNCOVERED: _l("Longest without cover first"),
    DirectorySort.LAPSING_SOONEST: _l("Cover ending soonest"),
}


class SelectionError(RegistryError):
    pass


@dataclass(frozen=True, slots=True)
class DirectoryFilters:
    occupation: Occupation | None = None
    province_code: str | None = None
    gender: Gender | None = None
    age_band: AgeBand | None = None
    status: CoverageStatus | None = None
    query: str = ""
    sort: DirectorySort = DirectorySort.LONGEST_UNCOVERED

    def as_args(self) -> dict[str, str]:
        """The query-string form, as the directory's GET form writes it (no empty values)."""
        band_key = next((k for k, v in AGE_BAND_KEYS.items() if v == self.age_band), None)
        args = {
            "occupation": self.occupation.value if self.occupation else None,
            "province": self.province_code,
            "gender": self.gender.value if self.gender else None,
            "age": band_key,
            "status": self.status.value if self.status else None,
            "q": self.query or None,
            "sort": self.sort.value if self.sort != DirectorySort.LONGEST_UNCOVERED else None,
        }
        return {key: value for key, value in args.items() if value}

    @property
    def is_filtered(self) -> bool:
        return any(key != "sort" for key in self.as_args())


def age_band_condition(band: AgeBand, today: date) -> ColumnElement[bool]:
    youngest, oldest = _AGE_BOUNDS[band]
    condition = Worker.birth_date <= years_before(today, youngest)
    if oldest is not None:
        condition &= Worker.birth_date > years_before(today, oldest + 1)
    return condition


def filter_conditions(filters: DirectoryFilters, today: date) -> list[ColumnElement[bool]]:
    """Every condition of ``filters`` but the text search: listed, the chosen filters, and
    for "cover ending soonest" a cover still running."""
    conditions: list[ColumnElement[bool]] = [Worker.is_listed.is_(True)]
    if filters.occupation:
        conditions.append(Worker.occupation == filters.occupation.value)
    if filters.province_code:
        conditions.append(Worker.province_code == filters.province_code)
    if filters.gender:
        conditions.append(Worker.gender == filters.gender.value)
    if filters.age_band:
        conditions.append(age_band_condition(filters.age_band, today))
    if filters.status:
        conditions.append(status_condition(filters.status, today))
    if filters.sort == DirectorySort.LAPSING_SOONEST:
        # Only workers whose cover is still running can lapse.
        conditions.append(Worker.covered_until >= today)
    return conditions


def matching_workers(
    filters: DirectoryFilters, today: date, *, probe_text: bool = False
) -> Select[Any]:
    """Listed workers matching ``filters``, in the filters' sort order. ``probe_text`` chooses
    the form of the text search for a common word (``workers.search.search_condition``)."""
    conditions = filter_conditions(filters, today)
    text = search_condition(filters.query, probe=probe_text)
    if text is not None:
        conditions.append(text)
    return select(Worker).where(*conditions).order_by(*directory_order(filters))


def directory_order(filters: DirectoryFilters) -> tuple[ColumnElement[Any], ...]:
    """The directory's order for ``filters``; the id breaks ties, so pages never overlap."""
    if filters.sort == DirectorySort.LAPSING_SOONEST:
        return (Worker.covered_until, Worker.id)
    return (Worker.needs_cover_from, Worker.id)


def listed_worker(worker_id: int) -> Worker | None:
    return db.session.scalar(
        select(Worker).where(Worker.id == worker_id, Worker.is_listed.is_(True))
    )


def max_selection() -> int:
    return int(current_app.config.get("SELECTION_MAX_WORKERS", DEFAULT_MAX_SELECTION))


def select_matching_workers(
    filters: DirectoryFilters, n: int, *, sponsor: User, today: date | None = None
) -> list[int]:
    """The ids of the first ``n`` workers the directory shows for ``filters``, in its order.

    Raises SelectionError when ``n`` is outside 1…SELECTION_MAX_WORKERS.
    """
    if sponsor.role != Role.SPONSOR:
        raise ValueError("only sponsors select workers")
    limit = max_selection()
    if not 1 <= n <= limit:
        raise SelectionError(
            _l("Choose between 1 and %(limit)s workers at a time.", limit=LazyString(number, limit))
        )
    statement = matching_workers(filters, today or jakarta_today())
    ids = statement.with_only_columns(Worker.id).limit(n)
    return list(db.session.scalars(ids))


def create_selection(
    sponsor: User, worker_ids: Sequence[int], *, filters: DirectoryFilters | None = None
) -> WorkerSelection:
    """Save the workers a sponsor picked, in order, for checkout.

    A worker can be picked when listed, or when they accepted this sponsor's invitation; in
    both cases they agreed to share data with BPJS. Raises SelectionError for an empty
    selection, too many workers, or workers who cannot be picked (any more).
    """
    wanted = list(dict.fromkeys(worker_ids))
    if not wanted:
        raise SelectionError(_l("Choose at least one worker."))
    if len(wanted) > max_selection():
        raise SelectionError(
            _l(
                "Choose between 1 and %(limit)s workers at a time.",
                limit=LazyString(number, max_selection()),
            )
        )
    available = coverable_worker_ids(sponsor, wanted)
    if len(available) != len(wanted):
        raise SelectionError(
            _l("Some of the workers you chose are no longer listed. Please choose again.")
        )
    selection = WorkerSelection(
        sponsor_id=sponsor.id,
        worker_count=len(wanted),
        filters=filters.as_args() if filters else {},
    )
    db.session.add(selection)
    db.session.flush()
    db.session.execute(
        WorkerSelectionItem.__table__.insert(),
        [
            {"selection_id": selection.id, "worker_id": worker_id, "position": n}
            for n, worker_id in enumerate(wanted)
        ],
    )
    return selection


def coverable_worker_ids(sponsor: User, worker_ids: Sequence[int]) -> set[int]:
    """Which workers this sponsor may pick: listed ones, and ones who accepted the sponsor's
    invitation; both agreed to share their data with BPJS Ketenagakerjaan."""
    found: set[int] = set()
    chunk = 5_000
    for start in range(0, len(worker_ids), chunk):
        part = worker_ids[start : start + chunk]
        rows = db.session.execute(
            select(Worker.id, Worker.is_listed).where(
                Worker.id.in_(part), Worker.insurer_consent_at.is_not(None)
            )
        ).all()
        found.update(worker_id for worker_id, is_listed in rows if is_listed)
        unlisted = [worker_id for worker_id, is_listed in rows if not is_listed]
        found.update(invited_worker_ids(sponsor, unlisted))
    return found


def select_matching(
    sponsor: User, filters: DirectoryFilters, n: int, *, today: date | None = None
) -> WorkerSelection:
    """ "Cover N matching workers": the first ``n`` the directory shows, saved as a selection."""
    worker_ids = select_matching_workers(filters, n, sponsor=sponsor, today=today)
    if not worker_ids:
        raise SelectionError(_l("No workers match these filters."))
    return create_selection(sponsor, worker_ids, filters=filters)


def recent_selections(sponsor: User, limit: int = 5) -> list[WorkerSelection]:
    return list(
        db.session.scalars(
            select(WorkerSelection)
            .where(WorkerSelection.sponsor_id == sponsor.id)
            .order_by(WorkerSelection.created_at.desc(), WorkerSelection.id.desc())
            .limit(limit)
        )
    )


def visible_photo(worker_id: int, viewer: User | AnonymousUserMixin) -> WorkerPhoto | None:
    """The worker's photo if ``viewer`` may see it: anyone while the worker is listed; the
    worker; an admin; a sponsor whose invitation the worker accepted."""
    row = db.session.execute(
        select(Worker.is_listed, Worker.user_id).where(Worker.id == worker_id)
    ).first()
    if row is None:
        return None
    is_listed, owner_id = row
    allowed = is_listed
    if not allowed and viewer.is_authenticated:
        allowed = (
            viewer.id == owner_id
            or viewer.role == Role.ADMIN
            or (viewer.role == Role.SPONSOR and bool(invited_worker_ids(viewer, [worker_id])))
        )
    return db.session.get(WorkerPhoto, worker_id) if allowed else None


def selection_for(sponsor: User, selection_id: int) -> WorkerSelection | None:
    """The sponsor's own selection; None for another sponsor's (no peeking by id)."""
    selection = db.session.get(WorkerSelection, selection_id)
    if selection is None or selection.sponsor_id != sponsor.id:
        return None
    return selection


def selection_page(selection: WorkerSelection, *, page: int, per_page: int = 50) -> Pagination:
    return db.paginate(
        select(Worker)
        .join(WorkerSelectionItem, WorkerSelectionItem.worker_id == Worker.id)
        .where(WorkerSelectionItem.selection_id == selection.id)
        .order_by(WorkerSelectionItem.position),
        page=max(page, 1),
        per_page=per_page,
        error_out=False,
    )
