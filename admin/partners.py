"""Admin: reviewing partners (approve, reject with a reason, suspend, reinstate)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import admin_required
from admin import queries
from admin.audit import record_admin_action
from admin.forms import ConfirmForm, ReasonForm
from bundles.forms import PARTNER_KIND_LABELS
from bundles.models import IllegalPartnerTransition, Partner, PartnerStatus
from bundles.partners import onboarding as partner_service
from extensions import db

bp = Blueprint("admin_partners", __name__, url_prefix="/admin/mitra")

STATUS_FILTERS = tuple(PartnerStatus)


@bp.route("/")
@admin_required
def index() -> str:
    status = request.args.get("status")
    chosen = PartnerStatus(status) if status in STATUS_FILTERS else None
    return render_template(
        "admin/partners.html",
        partners=partner_service.partners_for_review(chosen),
        counts=partner_service.partner_counts(),
        chosen=chosen,
        statuses=STATUS_FILTERS,
        kind_labels=PARTNER_KIND_LABELS,
    )


def _partner(partner_id: int) -> Partner:
    partner = queries.partner(partner_id)
    if partner is None:
        abort(404)
    return partner


def _render(partner: Partner, reject_form: ReasonForm, suspend_form: ReasonForm) -> str:
    return render_template(
        "admin/partners_detail.html",
        partner=partner,
        decision_form=ConfirmForm(),
        reject_form=reject_form,
        suspend_form=suspend_form,
        kind_labels=PARTNER_KIND_LABELS,
    )


@bp.route("/<int(max=2147483647):partner_id>")
@admin_required
def detail(partner_id: int) -> str:
    partner = _partner(partner_id)
    return _render(partner, ReasonForm(prefix="reject"), ReasonForm(prefix="suspend"))


def _decide(partner: Partner, action: str, reason: str = "") -> str | None:
    """Run one decision; return an error message or None."""
    try:
        if action == "approve":
            partner_service.approve_partner(partner, by=current_user)
        elif action == "reinstate":
            partner_service.reinstate_partner(partner, by=current_user)
        elif action == "reject":
            partner_service.reject_partner(partner, by=current_user, reason=reason)
        elif action == "suspend":
            partner_service.suspend_partner(partner, by=current_user, reason=reason)
    except IllegalPartnerTransition:
        return _("This decision does not fit the partner's current status; reload the page.")
    except partner_service.PartnerError as refused:
        return str(refused.message)
    record_admin_action(current_user.id, f"partner.{action}", "partner", partner.id, reason=reason)
    return None


DONE = {
    "approve": _l("Partner approved. They have been emailed."),
    "reinstate": _l("Partner reinstated: its offers are back in the catalog."),
    "reject": _l("Partner rejected. They have been emailed the reason."),
    "suspend": _l("Partner suspended: its offers left the catalog."),
}


def _decide_view(partner_id: int, action: str) -> Response:
    partner = _partner(partner_id)
    if ConfirmForm().validate_on_submit():
        problem = _decide(partner, action)
        if problem:
            db.session.rollback()
            flash(problem, "error")
        else:
            db.session.commit()
            flash(str(DONE[action]), "success")
    return redirect(url_for("admin_partners.detail", partner_id=partner.id))


def _decide_with_reason_view(partner_id: int, action: str) -> str | Response:
    partner = _partner(partner_id)
    forms = {"reject": ReasonForm(prefix="reject"), "suspend": ReasonForm(prefix="suspend")}
    form = forms[action]
    if form.validate_on_submit():
        problem = _decide(partner, action, form.reason.data)
        if problem is None:
            db.session.commit()
            flash(str(DONE[action]), "success")
            return redirect(url_for("admin_partners.detail", partner_id=partner.id))
        db.session.rollback()
        form.reason.errors.append(problem)
    return _render(partner, forms["reject"], forms["suspend"]), 422


@bp.route("/<int(max=2147483647):partner_id>/setujui", methods=["POST"])
@admin_required
def approve(partner_id: int) -> Response:
    return _decide_view(partner_id, "approve")


@bp.route("/<int(max=2147483647):partner_id>/aktifkan-kembali", methods=["POST"])
@admin_required
def reinstate(partner_id: int) -> Response:
    return _decide_view(partner_id, "reinstate")


@bp.route("/<int(max=2147483647):partner_id>/tolak", methods=["POST"])
@admin_required
def reject(partner_id: int) -> str | Response:
    return _decide_with_reason_view(partner_id, "reject")


@bp.route("/<int(max=2147483647):partner_id>/tangguhkan", methods=["POST"])
@admin_required
def suspend(partner_id: int) -> str | Response:
    return _decide_with_reason_view(partner_id, "suspend")
