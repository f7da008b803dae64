"""The daily remittance file per insurer, and reconciling the insurer's confirmation file.

Every dues remittance the insurer's API accepted belongs to the file of its Jakarta day. The
insurer answers with a confirmation file (CSV: ``reference,remittance_id,amount_idr,status``);
reconciling marks each remittance confirmed or mismatched. A confirmation file with any bad row
is refused whole, with every problem listed, and changes nothing.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from bundles.csv_upload import RowProblem as Problem
from bundles.csv_upload import UploadRefused, read_csv_upload
from bundles.csv_upload import refuse as _refuse
from bundles.models import Partner, PartnerKind
from extensions import db, utcnow
from fulfillment.models import Remittance, RemittanceFile, RemittanceStatus
from vault import decrypt

ConfirmationRefused = UploadRefused  # the name admin views and the CLI catch

FILE_COLUMNS = (
    "reference",
    "remittance_id",
    "kpj",
    "months",
    "programmes",
    "amount_idr",
    "accepted_at",
)
CONFIRMATION_COLUMNS = ("reference", "remittance_id", "amount_idr", "status")
CONFIRMATION_STATUSES = ("accepted", "rejected")
MAX_CONFIRMATION_BYTES = 5 * 1024 * 1024


@dataclass
class ReconcileReport:
    confirmed: int = 0
    mismatched: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (row, reference)
    missing: list[str] = field(default_factory=list)  # references the insurer did not list


def insurers() -> list[Partner]:
    return list(
        db.session.scalars(
            select(Partner).where(Partner.kind == PartnerKind.INSURER).order_by(Partner.name)
        )
    )


def build_remittance_file(
    partner: Partner, business_date: date, *, actor_id: int | None = None
) -> RemittanceFile:
    """The insurer's file for ``business_date`` (made once, refreshed when run again)."""
    file = db.session.scalar(
        select(RemittanceFile).where(
            RemittanceFile.partner_id == partner.id,
            RemittanceFile.business_date == business_date,
        )
    )
    if file is None:
        file = RemittanceFile(partner_id=partner.id, business_date=business_date)
        db.session.add(file)
        db.session.flush()
    of_the_day = (Remittance.partner_id == partner.id) & (Remittance.business_date == business_date)
    db.session.execute(update(Remittance).where(of_the_day).values(file_id=file.id))
    count, total = db.session.execute(
        select(func.count(Remittance.id), func.coalesce(func.sum(Remittance.amount_idr), 0)).where(
            of_the_day
        )
    ).one()
    file.row_count, file.total_idr = count, int(total)
    file.generated_at = utcnow()
    file.generated_by_id = actor_id
    db.session.flush()
    return file


def remittances_in(file: RemittanceFile) -> list[Remittance]:
    return list(
        db.session.scalars(
            select(Remittance).where(Remittance.file_id == file.id).order_by(Remittance.id)
        )
    )


def remittance_csv(file: RemittanceFile) -> str:
    """The file the insurer receives: one row per remittance, KPJ in clear (it is theirs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FILE_COLUMNS)
    for remittance in remittances_in(file):
        writer.writerow(
            [
                remittance.reference,
                remittance.partner_remittance_id,
                decrypt(remittance.kpj_encrypted),
                " ".join(remittance.months),
                "+".join(remittance.programmes),
                remittance.amount_idr,
                remittance.accepted_at.isoformat(),
            ]
        )
    return out.getvalue()


def parse_confirmation(data: bytes) -> list[tuple[int, str, str, int, str]]:
    """Rows ``(line, reference, remittance_id, amount_idr, status)``; raises
    ConfirmationRefused with every problem."""
    table = read_csv_upload(data, columns=CONFIRMATION_COLUMNS, max_bytes=MAX_CONFIRMATION_BYTES)
    at = table.column_at
    parsed, problems, seen = [], [], set()
    for line, cells in table.rows:
        if len(cells) != len(CONFIRMATION_COLUMNS):
            problems.append(Problem(line, _l("Each line needs exactly four cells.")))
            continue
        reference = cells[at["reference"]].strip()
        remittance_id = cells[at["remittance_id"]].strip()
        amount_text = cells[at["amount_idr"]].strip()
        status = cells[at["status"]].strip().lower()
        if not reference or not remittance_id:
            problems.append(Problem(line, _l("The reference and the remittance id are required.")))
            continue
        if not amount_text.isdigit():
            problems.append(Problem(line, _l("The amount must be a whole number of rupiah.")))
            continue
        if status not in CONFIRMATION_STATUSES:
            problems.append(Problem(line, _l("The status must be accepted or rejected.")))
            continue
        if reference in seen:
            problems.append(Problem(line, _l("This reference appears twice.")))
            continue
        seen.add(reference)
        parsed.append((line, reference, remittance_id, int(amount_text), status))
    if problems:
        raise ConfirmationRefused(problems)
    if not parsed:
        raise _refuse(_l("The file has no rows."))
    return parsed


def reconcile_confirmation(file: RemittanceFile, data: bytes) -> ReconcileReport:
    rows = parse_confirmation(data)
    ours = {r.reference: r for r in remittances_in(file)}
    report = ReconcileReport()
    now = utcnow()
    listed = set()
    for line, reference, remittance_id, amount, status in rows:
        remittance = ours.get(reference)
        if remittance is None:
            report.unknown.append((line, reference))
            continue
        listed.add(reference)
        why = []
        if status != "accepted":
            why.append("rejected by the insurer")
        if remittance_id != remittance.partner_remittance_id:
            why.append(f"remittance id {remittance_id} ≠ {remittance.partner_remittance_id}")
        if amount != remittance.amount_idr:
            why.append(f"amount {amount} ≠ {remittance.amount_idr}")
        if why:
            _mismatch(remittance, "; ".join(why), report)
        else:
            remittance.transition(RemittanceStatus.CONFIRMED)
            remittance.confirmed_at = now
            remittance.mismatch = None
            report.confirmed += 1
    for reference, remittance in ours.items():
        if reference not in listed:
            _mismatch(remittance, "missing from the insurer's confirmation", report)
            report.missing.append(reference)
    file.confirmation_uploaded_at = now
    file.confirmed_count = report.confirmed
    file.mismatch_count = len(report.mismatched) - len(report.missing)
    file.missing_count = len(report.missing)
    db.session.flush()
    return report


def _mismatch(remittance: Remittance, why: str, report: ReconcileReport) -> None:
    remittance.transition(RemittanceStatus.MISMATCH)
    remittance.confirmed_at = None
    remittance.mismatch = why[:300]
    report.mismatched.append((remittance.reference, why))
