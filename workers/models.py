"""The worker registry: workers, their heirs and consents, their cover, the invitations and
bulk imports that bring them in, and the selections sponsors make from the directory.

Personal data rules: the NIK is stored only encrypted (``nik_encrypted``) and as a keyed hash
(``nik_digest``); no ``__repr__`` here ever shows a name, phone or NIK (reprs end up in logs).
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.dates import jakarta_today
from core.errors import IllegalTransition
from extensions import UtcDateTime, append_only, db, utcnow


class EnrolmentSource(StrEnum):
    SELF = "self"  # the worker registered on their phone
    INVITATION = "invitation"  # a sponsor who knows the worker invited them
    AGENT_CSV = "agent_csv"  # an agent or cooperative uploaded a CSV
    AGENT_API = "agent_api"  # an agent's system called the partner API


class ConsentKind(StrEnum):
    LISTING = "listing"  # to be shown to sponsors in the directory
    INSURER_DATA = "insurer_data"  # to have data shared with BPJS Ketenagakerjaan for enrolment


class ConsentAction(StrEnum):
    GIVEN = "given"
    CONFIRMED = "confirmed"  # the worker confirmed consent an agent collected for them
    WITHDRAWN = "withdrawn"


class HeirRelation(StrEnum):
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER = "other"


class Programme(StrEnum):
    JKK = "JKK"  # work accident, compulsory for BPU
    JKM = "JKM"  # death, compulsory for BPU
    JHT = "JHT"  # old-age savings, optional


class Worker(db.Model):
    """An informal worker. ``nik_encrypted`` is readable only with FIELD_KEY; ``nik_digest``
    (a keyed hash) finds a worker by NIK and makes "one NIK, one worker" a constraint.

    ``covered_until`` (last covered day), ``needs_sponsor`` and ``needs_cover_from`` are kept
    in step with the Coverage ledger by ``workers.coverage`` so that every
    directory filter and sort reads indexed columns of this one table.
    """

    __tablename__ = "workers"
    __table_args__ = (
        Index("ix_workers_listed_occupation", "is_listed", "occupation"),
        # Every filter set with a province, read in this index alone: province and occupation
        # narrow the range (the "3 filters" page reads its 154 entries, not the province's
        # 2,500 rows), the other filters and both sort keys are checked and read from it.
        Index(
            "ix_workers_listed_province_filters",
            "is_listed",
            "province_code",
            "occupation",
            "needs_sponsor",
            "covered_until",
            "needs_cover_from",
            "gender",
            "birth_date",
            "id",
        ),
        Index("ix_workers_listed_gender", "is_listed", "gender"),
        Index("ix_workers_listed_birth_date", "is_listed", "birth_date"),
        Index("ix_workers_listed_status", "is_listed", "needs_sponsor", "covered_until"),
        Index("ix_workers_listed_covered_until", "is_listed", "covered_until", "id"),
        Index("ix_workers_listed_needs_cover_from", "is_listed", "needs_cover_from", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    occupation: Mapped[str] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(String(2))
    regency: Mapped[str] = mapped_column(String(80))
    gender: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date)
    story: Mapped[str | None] = mapped_column(Text)
    phone_e164: Mapped[str] = mapped_column(String(16), unique=True)
    nik_encrypted: Mapped[str | None] = mapped_column(String(200))
    nik_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    photo_version: Mapped[int] = mapped_column(default=0)  # 0: no photo; bumps bust caches

    is_listed: Mapped[bool] = mapped_column(default=False)
    listing_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    insurer_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When the worker confirmed the consents themselves; None while an agent's record waits.
    consent_confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    source: Mapped[EnrolmentSource] = mapped_column(String(16), default=EnrolmentSource.SELF)
    enrolled_by_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))

    covered_until: Mapped[date | None] = mapped_column(Date)
    needs_sponsor: Mapped[bool] = mapped_column(default=False)
    # First day without cover: the day after covered_until, or the day the worker joined.
    # "Longest uncovered first" sorts on it.
    needs_cover_from: Mapped[date] = mapped_column(Date, default=jakarta_today)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    heirs: Mapped[list["Heir"]] = relationship(
        back_populates="worker", cascade="all, delete-orphan", order_by="Heir.position"
    )

    @property
    def needs_consent_confirmation(self) -> bool:
        return self.consent_confirmed_at is None

    def __repr__(self) -> str:
        return f"<Worker {self.id}>"  # never the name, phone or NIK: reprs end up in logs


class Heir(db.Model):
    """An ahli waris: who receives the JKM death benefit."""

    __tablename__ = "heirs"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    position: Mapped[int] = mapped_column(default=1)
    full_name: Mapped[str] = mapped_column(String(120))
    relation: Mapped[HeirRelation] = mapped_column(String(16))
    phone_e164: Mapped[str | None] = mapped_column(String(16))

    worker: Mapped[Worker] = relationship(back_populates="heirs")

    def __repr__(self) -> str:
        return f"<Heir {self.id} of worker {self.worker_id}>"


@append_only
class ConsentEvent(db.Model):
    """Append-only record of every consent given, confirmed or withdrawn, and by whom."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_worker_created", "worker_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    kind: Mapped[ConsentKind] = mapped_column(String(16))
    action: Mapped[ConsentAction] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    source: Mapped[EnrolmentSource] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WorkerPhoto(db.Model):
    """A worker's photo, re-encoded small (no EXIF, no location) and served by a guarded view."""

    __tablename__ = "worker_photos"

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), primary_key=True)
    mime_type: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class WorkerSearchTerm(db.Model):
    """Words of a worker's public card (first name, place, occupation, story), folded to
    ``[a-z0-9]``, so text search is an indexed prefix range scan on both databases."""

    __tablename__ = "worker_search_terms"
    # A worker's own terms in order: a common word is checked per worker with one seek, in
    # this index alone (``workers.search.search_condition(probe=True)``).
    __table_args__ = (Index("ix_worker_search_terms_worker_term", "worker_id", "term"),)

    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True
    )


class Coverage(db.Model):
    """Months of BPJS Ketenagakerjaan cover paid for a worker, by an order line when it came
    through Payung. ``ends_on`` is the last day of the last month paid."""

    __tablename__ = "coverages"
    __table_args__ = (
        CheckConstraint("months > 0", name="months_positive"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        Index("ix_coverages_worker_ends", "worker_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"), unique=True)
    programmes: Mapped[list[str]] = mapped_column(JSON)
    months: Mapped[int]
    starts_on: Mapped[date] = mapped_column(Date)  # the first day of the first month
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


INVITATION_TRANSITIONS: dict[InvitationStatus, frozenset[InvitationStatus]] = {
    InvitationStatus.PENDING: frozenset(
        {InvitationStatus.ACCEPTED, InvitationStatus.DECLINED, InvitationStatus.CANCELLED}
    ),
    InvitationStatus.ACCEPTED: frozenset(),
    InvitationStatus.DECLINED: frozenset(),
    InvitationStatus.CANCELLED: frozenset(),
}


class Invitation(db.Model):
    """ "Cover someone you know": a sponsor invites a worker by phone; the worker completes
    and confirms their own data and consent, then appears in the sponsor's "my workers"."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_sponsor_created", "sponsor_id", "created_at"),
        Index("ix_invitations_phone_status", "phone_e164", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    full_name: Mapped[str] = mapped_column(String(120))
    phone_e164: Mapped[str] = mapped_column(String(16))
    nik_encrypted: Mapped[str | None] = mapped_column(String(200))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[InvitationStatus] = mapped_column(String(16), default=InvitationStatus.PENDING)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    sponsor: Mapped["User"] = relationship()  # noqa: F821 (accounts.models.User)
    worker: Mapped[Worker | None] = relationship()

    def transition(self, wanted: InvitationStatus) -> None:
        """The only way an invitation's status changes; raises IllegalTransition otherwise."""
        current = InvitationStatus(self.status)
        if wanted not in INVITATION_TRANSITIONS[current]:
            raise IllegalTransition("invitation", current, wanted)
        self.status = wanted
        self.answered_at = utcnow()

    def is_open(self, now: datetime) -> bool:
        return self.status == InvitationStatus.PENDING and self.expires_at > now

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.status}>"


class WorkerSelection(db.Model):
    """Workers a sponsor picked in the directory, waiting for the next step (checkout)."""

    __tablename__ = "worker_selections"
    __table_args__ = (Index("ix_worker_selections_sponsor_created", "sponsor_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    worker_count: Mapped[int]
    # The directory filters behind a "cover N matching workers" pick, shown back to the sponsor.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    items: Mapped[list["WorkerSelectionItem"]] = relationship(
        back_populates="selection",
        cascade="all, delete-orphan",
        order_by="WorkerSelectionItem.position",
    )


class WorkerSelectionItem(db.Model):
    __tablename__ = "worker_selection_items"

    selection_id: Mapped[int] = mapped_column(
        ForeignKey("worker_selections.id", ondelete="CASCADE"), primary_key=True
    )
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), primary_key=True, index=True)
    position: Mapped[int]

    selection: Mapped[WorkerSelection] = relationship(back_populates="items")


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


IMPORT_TRANSITIONS: dict[ImportStatus, frozenset[ImportStatus]] = {
    ImportStatus.QUEUED: frozenset({ImportStatus.RUNNING, ImportStatus.FAILED}),
    ImportStatus.RUNNING: frozenset({ImportStatus.DONE, ImportStatus.FAILED}),
    ImportStatus.DONE: frozenset(),
    ImportStatus.FAILED: frozenset(),
}


class ImportRowStatus(StrEnum):
    IMPORTED = "imported"
    CHECKED = "checked"  # valid, in a check-only run
    SKIPPED = "skipped"  # already registered in Payung
    REFUSED = "refused"


class ImportJob(db.Model):
    """One bulk enrolment CSV from an agent. The file is kept encrypted (it holds NIKs) only
    until the import ends; rows are processed in chunks, each committed with the progress."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_partner_created", "partner_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="id")  # language of the report
    is_check_only: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ImportStatus] = mapped_column(String(16), default=ImportStatus.QUEUED)
    source_encrypted: Mapped[str | None] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    skipped_rows: Mapped[int] = mapped_column(default=0)
    refused_rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def transition(self, wanted: ImportStatus) -> None:
        """The only way an import's status changes; raises IllegalTransition otherwise."""
        current = ImportStatus(self.status)
        if wanted not in IMPORT_TRANSITIONS[current]:
            raise IllegalTransition("import", current, wanted)
        self.status = wanted
        if wanted == ImportStatus.RUNNING:
            self.started_at = utcnow()
        else:
            self.finished_at = utcnow()
            self.source_encrypted = None  # the NIKs leave with the file

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.status}>"


class ImportRow(db.Model):
    """The outcome of one CSV row, for the per-row report. No NIK, only a masked phone."""

    __tablename__ = "import_rows"
    __table_args__ = (UniqueConstraint("job_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    status: Mapped[ImportRowStatus] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(120), default="")
    masked_phone: Mapped[str] = mapped_column(String(24), default="")
    messages: Mapped[list[str]] = mapped_column(JSON, default=list)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"))
