"""The ``renewals`` blueprint: a sponsor's automatic renewals — turn on, save the card (the only
JavaScript: checkout.js with Stripe.js), pause, resume, stop, and the list of plans."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from accounts.access import sponsor_required
from core.dates import jakarta_today
from extensions import db, limiter
from sponsorship.continuity.renewals import services as renewals
from sponsorship.continuity.renewals.forms import RenewalForm
from sponsorship.continuity.renewals.models import RenewalPlan
from sponsorship.continuity.renewals.services import RenewalError
from sponsorship.payments.gateway_types import setup_intent_in
from sponsorship.payments.services import payment_config

bp = Blueprint("renewals", __name__, url_prefix="/sponsor/perpanjangan")


def _own_plan(plan_id: int) -> RenewalPlan:
    return renewals.plan_for(current_user, plan_id) or abort(404)


def _int_arg(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@bp.route("")
@sponsor_required
def index() -> str:
    today = jakarta_today()
    return render_template(
        "sponsorship/renewals/index.html",
        rows=renewals.sponsor_plans(current_user, today=today),
        days_before=renewals.days_before_lapse(),
        today=today,
    )


@bp.route("/baru", methods=["GET", "POST"])
@sponsor_required
def new() -> ResponseReturnValue:
    form = RenewalForm()
    source = form if request.method == "POST" else None
    worker_id = _int_arg(source.worker_id.data if source else request.args.get("worker"))
    bundle_id = _int_arg(source.bundle_id.data if source else request.args.get("bundle"))
    if worker_id is None:
        abort(404)
    try:
        offer = renewals.renewal_offer(current_user, worker_id, bundle_id)
    except RenewalError as refused:
        flash(refused.message, "error")
        return redirect(url_for("renewals.index"))
    if request.method == "GET":
        form.worker_id.data = str(worker_id)
        form.bundle_id.data = str(offer.bundle.id)
        form.months.data = _int_arg(request.args.get("months")) or offer.months
    elif form.validate_on_submit():
        try:
            plan = renewals.start_plan(
                current_user,
                worker_id=worker_id,
                bundle_id=offer.bundle.id,
                months=form.months.data,
            )
        except RenewalError as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            db.session.commit()
            return redirect(url_for("renewals.card", plan_id=plan.id))
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "sponsorship/renewals/new.html",
        form=form,
        offer=offer,
        days_before=renewals.days_before_lapse(),
    )
    return page, status


@bp.route("/<int:plan_id>/kartu")
@sponsor_required
def card(plan_id: int) -> ResponseReturnValue:
    plan = _own_plan(plan_id)
    try:
        setup = renewals.card_setup(plan, current_user)
    except RenewalError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("renewals.index"))
    db.session.commit()
    return render_template(
        "sponsorship/renewals/card.html", plan=plan, setup=setup, stripe=payment_config()
    )


@bp.route("/<int:plan_id>/kartu", methods=["POST"])
@limiter.limit("20 per minute")
@sponsor_required
def save_card(plan_id: int) -> ResponseReturnValue:
    plan = _own_plan(plan_id)
    setup_id = setup_intent_in(request.get_json(silent=True))
    if setup_id is None:
        return jsonify(status="error", message=_("The card form sent nothing we can use.")), 400
    try:
        renewals.save_card(plan, current_user, setup_id)
    except RenewalError as refused:
        db.session.rollback()
        return jsonify(status="error", message=str(refused.message)), 409
    db.session.commit()
    flash(_("Automatic renewal is on. We charge the card before each lapse."), "success")
    return jsonify(status="succeeded", return_url=url_for("renewals.index"))


def _change(plan_id: int, action: str) -> ResponseReturnValue:
    plan = _own_plan(plan_id)
    try:
        if action == "pause":
            renewals.pause_plan(plan)
            done = _("Automatic renewal is paused.")
        elif action == "resume":
            renewals.resume_plan(plan)
            done = _("Automatic renewal is on again.")
        else:
            renewals.stop_plan(plan, today=jakarta_today())
            done = _("Automatic renewal is stopped. Nothing more will be charged.")
    except RenewalError as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("renewals.index"))


@bp.route("/<int:plan_id>/jeda", methods=["POST"])
@sponsor_required
def pause(plan_id: int) -> ResponseReturnValue:
    return _change(plan_id, "pause")


@bp.route("/<int:plan_id>/lanjutkan", methods=["POST"])
@sponsor_required
def resume(plan_id: int) -> ResponseReturnValue:
    return _change(plan_id, "resume")


@bp.route("/<int:plan_id>/berhenti", methods=["POST"])
@sponsor_required
def stop(plan_id: int) -> ResponseReturnValue:
    return _change(plan_id, "stop")
