"""Admin: watching fulfillment — items needing attention, one item's history and the actions on
it (retry, resend, void, substitute) — and the insurers' remittance files.

Routes live on the ``admin`` blueprint; ``admin.views`` calls ``register(bp)``.
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from accounts.access import admin_required
from admin import queries
from admin.audit import record_admin_action
from core.dates import jakarta_today
from core.identity import mask_phone
from extensions import db
from fulfillment.models import RemittanceFile
from fulfillment.operations import actions, overview
from fulfillment.operations.forms import (
    ConfirmationForm,
    ReasonForm,
    RemittanceFileForm,
    SubstituteForm,
    VoidForm,
)
from fulfillment.partners import remittance

_routes: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []


def route(rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        _routes.append((rule, view, options))
        return view

    return decorator


def register(bp: Blueprint) -> None:
    for rule, view, options in _routes:
        bp.add_url_rule(rule, view_func=view, **options)


ACTIONS = ("retry", "resend", "void", "substitute")
DONE = {
    "retry": _l("The part is queued for a new attempt."),
    "resend": _l("A new bundle code was sent to the worker; the old one no longer works."),
    "void": _l("The part was voided; the sponsor is being refunded."),
    "substitute": _l("The part will be issued again from the chosen offer."),
}


@route("/fulfillment")
@admin_required
def fulfillment_items() -> str:
    status = request.args.get("status", "attention")
    if status not in overview.FILTERS:
        status = "attention"
    order_reference = request.args.get("order", "")[:24]
    page, rows = overview.item_page(
        status=status, order_reference=order_reference, page=request.args.get("page", 1, int)
    )
    return render_template(
        "admin/fulfillment.html",
        page=page,
        rows=rows,
        status=status,
        filters=overview.FILTERS,
        counts=overview.status_counts(),
        order_reference=order_reference,
        status_labels=overview.STATUS_LABELS,
        filter_labels=overview.FILTER_LABELS,
    )


def _detail_or_404(item_id: int) -> overview.ItemDetail:
    detail = overview.item_detail(item_id)
    if detail is None:
        abort(404)
    return detail


def _substitute_form(detail: overview.ItemDetail, formdata: Any = None) -> SubstituteForm:
    form = SubstituteForm(formdata=formdata, prefix="substitute")
    form.offer_id.choices = [
        SelectChoice(offer.id, f"{offer.name_en} (#{offer.id})") for offer in detail.substitutes
    ]
    return form


def _render_item(detail: overview.ItemDetail, forms: dict[str, Any] | None = None) -> str:
    forms = forms or {}
    for action in ("retry", "resend"):
        forms.setdefault(action, ReasonForm(formdata=None, prefix=action))
    forms.setdefault("void", VoidForm(formdata=None, prefix="void"))
    forms.setdefault("substitute", _substitute_form(detail))
    return render_template(
        "admin/fulfillment_item.html",
        detail=detail,
        forms=forms,
        masked_phone=mask_phone(detail.worker.phone_e164),
        status_labels=overview.STATUS_LABELS,
        event_labels=overview.EVENT_LABELS,
        method_labels=overview.METHOD_LABELS,
        pool_code_labels=overview.POOL_CODE_LABELS,
        remittance_labels=overview.REMITTANCE_LABELS,
        details=overview.readable_details,
    )


@route("/fulfillment/<int(max=2147483647):item_id>")
@admin_required
def fulfillment_item(item_id: int) -> str:
    return _render_item(_detail_or_404(item_id))


@route("/fulfillment/<int(max=2147483647):item_id>/<action>", methods=["POST"])
@admin_required
def fulfillment_action(item_id: int, action: str) -> str | tuple[str, int] | Response:
    if action not in ACTIONS:
        abort(404)
    detail = _detail_or_404(item_id)
    if action == "substitute":
        form = _substitute_form(detail, request.form)
    else:
        form = VoidForm(prefix=action) if action == "void" else ReasonForm(prefix=action)
    if form.validate_on_submit():
        options = {"actor_id": current_user.id, "reason": form.reason.data}
        try:
            if action == "retry":
                actions.retry_item(item_id, **options)
            elif action == "resend":
                actions.resend_claim(item_id, **options)
            elif action == "void":
                actions.void_item(item_id, **options)
            else:
                actions.substitute_item(item_id, form.offer_id.data, **options)
        except actions.ActionRefused as refused:
            db.session.rollback()
            form.reason.errors.append(str(refused.message))
        else:
            record_admin_action(
                current_user.id,
                f"fulfillment.{action}",
                "fulfillment_item",
                item_id,
                reason=form.reason.data,
            )
            db.session.commit()
            flash(str(DONE[action]), "success")
            return redirect(url_for("admin.fulfillment_item", item_id=item_id))
    return _render_item(_detail_or_404(item_id), {action: form}), 422


def _remittance_form(formdata: Any = None) -> RemittanceFileForm:
    form = RemittanceFileForm(formdata=formdata)
    form.partner_id.choices = [SelectChoice(p.id, p.name) for p in remittance.insurers()]
    if form.business_date.data is None:
        form.business_date.data = jakarta_today()
    return form


def _render_remittances(form: RemittanceFileForm) -> str:
    return render_template(
        "admin/fulfillment_remittances.html",
        form=form,
        files=queries.recent_remittance_files(),
        confirmation_form=ConfirmationForm(formdata=None),
    )


@route("/fulfillment/remittances", methods=["GET", "POST"])
@admin_required
def fulfillment_remittances() -> str | tuple[str, int] | Response:
    form = _remittance_form(request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render_remittances(form), 422
        partner = queries.partner(form.partner_id.data)
        assert partner is not None  # the choices are insurers
        file = remittance.build_remittance_file(
            partner, form.business_date.data, actor_id=current_user.id
        )
        db.session.commit()
        flash(str(_l("Remittance file ready: %(count)s row(s).", count=file.row_count)), "success")
        return redirect(url_for("admin.fulfillment_remittances"))
    return _render_remittances(form)


def _file_or_404(file_id: int) -> RemittanceFile:
    file = queries.remittance_file(file_id)
    if file is None:
        abort(404)
    return file


@route("/fulfillment/remittances/<int(max=2147483647):file_id>.csv")
@admin_required
def fulfillment_remittance_csv(file_id: int) -> Response:
    file = _file_or_404(file_id)
    return Response(
        remittance.remittance_csv(file),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@route("/fulfillment/remittances/<int(max=2147483647):file_id>/confirmation", methods=["POST"])
@admin_required
def fulfillment_confirmation(file_id: int) -> str | tuple[str, int] | Response:
    file = _file_or_404(file_id)
    form = ConfirmationForm()
    if form.validate_on_submit():
        try:
            report = remittance.reconcile_confirmation(file, form.confirmation.data.read())
        except remittance.ConfirmationRefused as refused:
            db.session.rollback()
            for problem in refused.shown:
                prefix = _l("Line %(line)s: ", line=problem.row) if problem.row else ""
                form.confirmation.errors.append(f"{prefix}{problem.message}")
        else:
            db.session.commit()
            return render_template("admin/fulfillment_reconciled.html", file=file, report=report)
    return (
        render_template("admin/fulfillment_confirmation.html", file=file, form=form),
        422,
    )
