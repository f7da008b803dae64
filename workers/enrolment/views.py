"""Bulk enrolment pages for agent and cooperative partners: upload a CSV, watch it run, and
download the per-row report. Another partner's jobs answer 404."""

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from accounts.access import partner_required
from bundles.models import Partner
from bundles.partners.onboarding import partner_for
from core.identity import OCCUPATION_LABELS, PROVINCES
from extensions import db
from workers.enrolment import csv_upload as enrolment_csv
from workers.enrolment.bulk import NotAnApprovedAgent, ensure_approved_agent
from workers.enrolment.rows import COLUMNS
from workers.forms import EnrolmentUploadForm
from workers.models import ImportRowStatus, ImportStatus
from workers.registry import RegistryError

bp = Blueprint("enrolment", __name__)

REFRESH_SECONDS = 2
JOB_STATUS_LABELS = {
    ImportStatus.QUEUED: _l("Waiting"),
    ImportStatus.RUNNING: _l("Running"),
    ImportStatus.DONE: _l("Finished"),
    ImportStatus.FAILED: _l("Stopped"),
}
COLUMN_HELP = {
    "full_name": _l("Full name as on the KTP."),
    "nik": _l("The 16-digit NIK from the KTP."),
    "phone": _l("The worker’s own mobile number, e.g. 081234567890."),
    "birth_date": _l("Date of birth: 31-12-1990 or 1990-12-31."),
    "gender": _l("P (perempuan) or L (laki-laki)."),
    "occupation": _l("The work, e.g. Petani or farmer (see the list below)."),
    "province": _l("The province name or its two-digit code, e.g. Jawa Barat or 32."),
    "regency": _l("Regency or city, e.g. Kab. Garut."),
    "story": _l("A few words for sponsors, at most 400 letters."),
    "heir_name": _l("Name of the heir (ahli waris)."),
    "heir_relation": _l("suami/istri, anak, orang tua, saudara or lainnya."),
    "heir_phone": _l("The heir’s mobile number."),
    "consent_listing": _l("ya if the worker agreed to be shown to sponsors, otherwise tidak."),
    "consent_insurer": _l(
        "ya: the worker agreed that BPJS Ketenagakerjaan may receive their data (required)."
    ),
}


def _own_partner() -> Partner:
    partner = partner_for(current_user)
    if partner is None:
        abort(403)
    return partner


def _not_an_agent(partner: Partner | None) -> tuple[str, int]:
    return render_template("sponsorship/enrolment_not_agent.html", partner=partner), 403


@bp.route("/mitra/pendaftaran", methods=["GET", "POST"])
@partner_required
def upload() -> str | Response | tuple[str, int]:
    partner = partner_for(current_user)
    if partner is None:
        return _not_an_agent(None)
    try:
        ensure_approved_agent(partner)
    except NotAnApprovedAgent:
        return _not_an_agent(partner)
    form = EnrolmentUploadForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        try:
            job = enrolment_csv.start_import(
                partner,
                uploaded_by=current_user,
                filename=upload_file.filename or "",
                data=upload_file.read(enrolment_csv.max_bytes() + 1),
                check_only=form.check_only.data,
                locale=str(get_locale() or "id"),
            )
        except RegistryError as exc:
            form.file.errors = [*form.file.errors, str(exc.message)]
        else:
            db.session.commit()
            return redirect(url_for("sponsorship.enrolment.job", job_id=job.id))
    return render_template(
        "sponsorship/enrolment_upload.html",
        form=form,
        partner=partner,
        jobs=enrolment_csv.recent_jobs(partner),
        columns=COLUMNS,
        occupations=OCCUPATION_LABELS,
        provinces=PROVINCES,
        max_rows=enrolment_csv.max_rows(),
        max_size=enrolment_csv.size_label(enrolment_csv.max_bytes()),
        column_help=COLUMN_HELP,
        job_status_labels=JOB_STATUS_LABELS,
    ), 400 if form.errors else 200


@bp.route("/mitra/pendaftaran/templat.csv")
@partner_required
def template() -> Response:
    _own_partner()
    return Response(
        enrolment_csv.template_csv(str(get_locale() or "id")),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="payung-pendaftaran-pekerja.csv"'},
    )


@bp.route("/mitra/pendaftaran/<int:job_id>")
@partner_required
def job(job_id: int) -> str:
    found = enrolment_csv.job_for_partner(_own_partner(), job_id)
    if found is None:
        abort(404)
    return render_template(
        "sponsorship/enrolment_job.html",
        job=found,
        problems=enrolment_csv.problem_rows(found) if found.is_finished else [],
        refresh_seconds=None if found.is_finished else REFRESH_SECONDS,
        job_status_labels=JOB_STATUS_LABELS,
    )


@bp.route("/mitra/pendaftaran/<int:job_id>/laporan.csv")
@partner_required
def report(job_id: int) -> Response:
    found = enrolment_csv.job_for_partner(_own_partner(), job_id)
    if found is None:
        abort(404)
    header = [_("Row"), _("Result"), _("Name"), _("Phone"), _("Notes")]
    labels = {
        ImportRowStatus.IMPORTED: _("Imported"),
        ImportRowStatus.CHECKED: _("Valid (not imported: check only)"),
        ImportRowStatus.SKIPPED: _("Skipped: already sent by you"),
        ImportRowStatus.REFUSED: _("Refused"),
    }
    lines = enrolment_csv.report_lines(found, header=header, status_labels=labels)
    filename = f"payung-laporan-{found.id}.csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
