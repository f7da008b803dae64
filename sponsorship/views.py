"""Sponsor pages: the worker directory and profiles, selections for checkout, the sponsor's
home and "my workers" (with invitations to cover someone they know).

Worker registration and bulk enrolment have their own blueprints, nested here so their
endpoints read ``sponsorship.registration.*`` and ``sponsorship.enrolment.*``.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import public, sponsor_required
from core.dates import jakarta_today
from core.identity import IdentityError, mask_phone
from extensions import db, limiter, utcnow
from sponsorship.dashboard.services import paid_workers_page
from sponsorship.dashboard.views import bp as reports_bp
from sponsorship.dashboard.views import render_dashboard
from workers.directory import queries as directory
from workers.directory.forms import CoverMatchingForm, SelectWorkersForm
from workers.directory.page import directory_page as directory_view
from workers.enrolment import invitations
from workers.enrolment import queries as enrolment_queries
from workers.enrolment.views import bp as enrolment_bp
from workers.forms import InvitationForm
from workers.registration_views import bp as registration_bp
from workers.registry import RegistryError

bp = Blueprint("sponsorship", __name__)
bp.register_blueprint(registration_bp)
bp.register_blueprint(enrolment_bp)
bp.register_blueprint(reports_bp)


def _invitation_limit() -> str:
    return current_app.config.get("RATELIMIT_INVITATIONS", "20 per day")


@bp.route("/pekerja", endpoint="directory")
@public
def directory_page() -> str:
    # A wrong filter value is shown as an error and counts as "any".
    view = directory_view(request.args)

    def render() -> str:
        return render_template("sponsorship/directory.html", view=view)

    if current_user.is_authenticated or "_flashes" in session:
        return render()  # a name, a CSRF token or a message of this user's on the page
    return view.as_visitor_sees_it((request.script_root, request.full_path), render)


@bp.route("/pekerja/<int:worker_id>")
@public
def worker_profile(worker_id: int) -> str:
    worker = directory.listed_worker(worker_id)
    if worker is None:
        abort(404)
    return render_template("sponsorship/profile.html", worker=worker, today=jakarta_today())


@bp.route("/pekerja/<int:worker_id>/foto")
@public
def worker_photo(worker_id: int) -> Response:
    photo = directory.visible_photo(worker_id, current_user)
    if photo is None:
        abort(404)
    etag = f"photo-{worker_id}-{photo.updated_at.timestamp():.0f}"
    if request.if_none_match.contains(etag):
        return Response(status=304)
    response = make_response(photo.content)
    response.mimetype = photo.mime_type
    response.set_etag(etag)
    # Revalidated on every view: a worker who leaves the directory leaves it at once.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/pilihan", methods=["POST"])
@sponsor_required
def select_workers() -> Response:
    form = SelectWorkersForm()
    if not form.validate_on_submit():
        flash(_("Choose at least one worker."), "error")
        return redirect(_back_to_directory())
    try:
        selection = directory.create_selection(current_user, form.worker_ids())
    except RegistryError as exc:
        flash(str(exc.message), "error")
        return redirect(_back_to_directory())
    db.session.commit()
    return redirect(url_for("sponsorship.selection", selection_id=selection.id))


@bp.route("/pilihan/cocok", methods=["POST"])
@sponsor_required
def cover_matching() -> Response:
    form = CoverMatchingForm()
    filters = form.filters()
    if not form.validate_on_submit():
        flash(_("Enter how many workers you want to cover."), "error")
        return redirect(url_for("sponsorship.directory", **filters.as_args()))
    try:
        selection = directory.select_matching(current_user, filters, form.n.data)
    except RegistryError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("sponsorship.directory", **filters.as_args()))
    db.session.commit()
    return redirect(url_for("sponsorship.selection", selection_id=selection.id))


@bp.route("/pilihan/<int:selection_id>")
@sponsor_required
def selection(selection_id: int) -> str:
    chosen = directory.selection_for(current_user, selection_id)
    if chosen is None:
        abort(404)
    page = directory.selection_page(chosen, page=request.args.get("page", 1, type=int))
    invited = invitations.invited_worker_ids(current_user, [w.id for w in page.items])
    return render_template(
        "sponsorship/selection.html",
        selection=chosen,
        page=page,
        invited=invited,
        today=jakarta_today(),
    )


@bp.route("/sponsor")
@sponsor_required
def dashboard() -> str:
    return render_dashboard()


@bp.route("/sponsor/pekerja-saya")
@sponsor_required
def my_workers() -> str:
    return _my_workers_page(InvitationForm())


@bp.route("/sponsor/undang", methods=["POST"])
@limiter.limit(_invitation_limit, key_func=lambda: f"invite:{current_user.get_id()}")
@sponsor_required
def invite() -> Response | tuple[str, int]:
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            invitations.invite_worker(
                current_user,
                full_name=form.full_name.data,
                phone_e164=form.phone_e164,
                nik=form.nik.data or None,
                link_for=lambda token: url_for(
                    "sponsorship.registration.invitation", token=token, _external=True
                ),
            )
        except (RegistryError, IdentityError) as exc:
            field = getattr(form, getattr(exc, "field", None) or "phone", form.phone)
            field.errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Invitation sent to %(phone)s.", phone=mask_phone(form.phone_e164)), "success")
            return redirect(url_for("sponsorship.my_workers"))
    return _my_workers_page(form), 400


@bp.route("/sponsor/undangan/<int:invitation_id>/batal", methods=["POST"])
@sponsor_required
def cancel_invitation(invitation_id: int) -> Response:
    invitation = enrolment_queries.sponsor_invitation(current_user, invitation_id)
    if invitation is None:
        abort(404)
    try:
        invitations.cancel_invitation(invitation, sponsor=current_user)
    except RegistryError as exc:
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Invitation cancelled."), "info")
    return redirect(url_for("sponsorship.my_workers"))


def _my_workers_page(form: InvitationForm) -> str:
    paid_workers, paid_for = paid_workers_page(
        current_user, page=request.args.get("page", 1, type=int)
    )
    return render_template(
        "sponsorship/my_workers.html",
        form=form,
        paid_workers=paid_workers,
        paid_for=paid_for,
        invitations=invitations.sponsor_invitations(current_user),
        today=jakarta_today(),
        now_utc=utcnow(),
    )


def _back_to_directory() -> str:
    """The directory page the sponsor came from (same filters), else its first page."""
    referrer = request.referrer or ""
    base = url_for("sponsorship.directory", _external=True)
    if referrer.startswith(base):
        return referrer.removeprefix(request.host_url.rstrip("/"))
    return url_for("sponsorship.directory")
