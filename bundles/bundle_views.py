"""Composing bundles, for partners (their own bundles) and admins (every bundle).

The rules of who may put which offer in a bundle are in ``bundles.catalog``; the page states them.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from accounts.access import role_required
from accounts.models import Role
from bundles import catalog
from bundles.catalog import BundleDetails, BundleError
from bundles.dues.data import load_dues_tables
from bundles.dues.services import PAYABLE_MONTHS, PayerKind
from bundles.forms import BundleForm, BundlePartForm, ConfirmForm
from bundles.models import Bundle, Partner, PartnerStatus
from bundles.partners.onboarding import partner_for
from bundles.pricing import PricingError, default_first_month, quote_bundle
from extensions import db

bp = Blueprint("bundle_editor", __name__, url_prefix="/kelola/paket")
composer_required = role_required(Role.PARTNER, Role.ADMIN)


class NotAComposer(Exception):
    pass


@bp.errorhandler(NotAComposer)
def _not_a_composer(error: NotAComposer) -> Response:
    flash(_("Bundles can be composed once Payung has approved your partner account."), "info")
    return redirect(url_for("partner.dashboard"))


def _composer() -> Partner | None:
    """None for an admin (Payung composes), else the signed-in approved partner."""
    if current_user.role == Role.ADMIN:
        return None
    partner = partner_for(current_user)
    if partner is None or partner.status != PartnerStatus.APPROVED:
        raise NotAComposer()
    return partner


def _bundle(bundle_id: int, composer: Partner | None) -> Bundle:
    return catalog.composable_bundle(bundle_id, composer) or abort(404)


def _details(form: BundleForm) -> BundleDetails:
    return BundleDetails(
        name=form.name.data or "",
        summary_id=form.summary_id.data or "",
        summary_en=form.summary_en.data or "",
    )


def _error_to(form: BundleForm | BundlePartForm, error: BundleError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is None:
        flash(str(error.message), "error")
    else:
        field.errors.append(str(error.message))


@bp.route("/")
@composer_required
def index() -> str:
    composer = _composer()
    return render_template(
        "bundles/editor/index.html", composer=composer, bundles=catalog.bundles_of(composer)
    )


@bp.route("/baru", methods=["GET", "POST"])
@composer_required
def new() -> str | Response:
    composer = _composer()
    form = BundleForm()
    if form.validate_on_submit():
        fee = (form.platform_fee_idr.data or 0) if composer is None else 0
        try:
            bundle = catalog.create_bundle(_details(form), owner=composer, platform_fee_idr=fee)
        except BundleError as refused:
            _error_to(form, refused)
        else:
            db.session.commit()
            flash(_("Bundle created. Now add its parts."), "success")
            return redirect(url_for("bundle_editor.edit", bundle_id=bundle.id))
    return render_template("bundles/editor/new.html", form=form, composer=composer)


def _part_form(composer: Partner | None, bundle: Bundle) -> BundlePartForm:
    form = BundlePartForm()
    in_bundle = {part.offer_id for part in bundle.parts}
    form.offer_id.choices = [
        SelectChoice(str(offer.id), offer.name_in(_locale()), optgroup=offer.partner.name)
        for offer in catalog.composable_offers(composer)
        if offer.id not in in_bundle
    ]
    return form


def _locale() -> str:
    return str(get_locale() or "id")


def _render_edit(
    bundle: Bundle, composer: Partner | None, form: BundleForm, part_form: BundlePartForm
) -> str:
    tables = load_dues_tables()
    first_month = default_first_month()
    previews, preview_error = {}, None
    try:
        for months in PAYABLE_MONTHS:
            for transport in (False, True):
                previews[(months, transport)] = quote_bundle(
                    bundle,
                    months=months,
                    first_month=first_month,
                    payer_kind=PayerKind.PERSON,
                    is_transport=transport,
                    tables=tables,
                    require_available=False,
                ).total_idr
    except PricingError as refused:
        preview_error = refused.message
    return render_template(
        "bundles/editor/edit.html",
        bundle=bundle,
        composer=composer,
        form=form,
        part_form=part_form,
        confirm_form=ConfirmForm(),
        previews=previews,
        preview_error=preview_error,
        first_month=first_month,
        unlisted=[part for part in bundle.parts if not part.offer.is_listed],
    )


@bp.route("/<int(max=2147483647):bundle_id>", methods=["GET", "POST"])
@composer_required
def edit(bundle_id: int) -> str | Response:
    composer = _composer()
    bundle = _bundle(bundle_id, composer)
    form = BundleForm(obj=bundle)
    if form.validate_on_submit():
        fee = (form.platform_fee_idr.data or 0) if composer is None else None
        try:
            catalog.update_bundle(bundle, _details(form), platform_fee_idr=fee)
        except BundleError as refused:
            _error_to(form, refused)
        else:
            db.session.commit()
            flash(_("Bundle saved."), "success")
            return redirect(url_for("bundle_editor.edit", bundle_id=bundle.id))
    return _render_edit(bundle, composer, form, _part_form(composer, bundle))


@bp.route("/<int(max=2147483647):bundle_id>/bagian", methods=["POST"])
@composer_required
def add_part(bundle_id: int) -> str | Response:
    composer = _composer()
    bundle = _bundle(bundle_id, composer)
    part_form = _part_form(composer, bundle)
    if part_form.validate_on_submit():
        offer = catalog.offer_by_id(part_form.offer_id.data)
        try:
            if offer is None:
                raise BundleError(_l("Choose an offer."), field="offer_id")
            catalog.add_part(bundle, offer, quantity=part_form.quantity.data, composer=composer)
        except BundleError as refused:
            db.session.rollback()
            _error_to(part_form, refused)
        else:
            db.session.commit()
            flash(_("Part added."), "success")
            return redirect(url_for("bundle_editor.edit", bundle_id=bundle.id))
    return _render_edit(bundle, composer, BundleForm(obj=bundle), part_form), 422


@bp.route(
    "/<int(max=2147483647):bundle_id>/bagian/<int(max=2147483647):part_id>/hapus", methods=["POST"]
)
@composer_required
def remove_part(bundle_id: int, part_id: int) -> Response:
    composer = _composer()
    bundle = _bundle(bundle_id, composer)
    part = catalog.bundle_part(bundle, part_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            catalog.remove_part(bundle, part)
        except BundleError as refused:
            flash(str(refused.message), "error")
        else:
            db.session.commit()
            flash(_("Part removed."), "success")
    return redirect(url_for("bundle_editor.edit", bundle_id=bundle.id))


@bp.route("/<int(max=2147483647):bundle_id>/terbitkan", methods=["POST"])
@composer_required
def publish(bundle_id: int) -> Response:
    composer = _composer()
    bundle = _bundle(bundle_id, composer)
    if ConfirmForm().validate_on_submit():
        try:
            catalog.publish_bundle(bundle)
        except BundleError as refused:
            flash(str(refused.message), "error")
        else:
            db.session.commit()
            flash(_("Published: sponsors can now buy this bundle."), "success")
    return redirect(url_for("bundle_editor.edit", bundle_id=bundle.id))


@bp.route("/<int(max=2147483647):bundle_id>/tarik", methods=["POST"])
@composer_required
def unpublish(bundle_id: int) -> Response:
    composer = _composer()
    bundle = _bundle(bundle_id, composer)
    if ConfirmForm().validate_on_submit():
        catalog.unpublish_bundle(bundle)
        db.session.commit()
        flash(
            _("Unpublished: the bundle is no longer sold. Paid orders are not affected."), "success"
        )
    return redirect(url_for("bundle_editor.edit", bundle_id=bundle.id))
