"""Partner pages: profile, offers, code pools, API keys and the settlement statement.

A partner only ever loads its own offers (another partner's id is a 404, never a 403, so ids
reveal nothing). Pages other than the profile and the settlement need an approved partner.
"""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import partner_required
from bundles import catalog as bundle_catalog
from bundles.codes import pools
from bundles.forms import (
    ApiKeyForm,
    CodeUploadForm,
    ConfirmForm,
    OfferForm,
    PartnerProfileForm,
    new_profile_form,
)
from bundles.models import FulfillmentMethod, Offer, Partner, PartnerStatus
from bundles.offers import (
    OfferInvalid,
    create_offer,
    default_offer_choices,
    offer_values,
    own_offer,
    update_offer,
)
from bundles.partners.api_client import check_partner_api
from bundles.partners.onboarding import (
    PartnerError,
    PartnerProfile,
    partner_for,
    submit_partner_profile,
)
from core.dates import jakarta_today
from extensions import db
from partnerhome import queries
from partnerhome import stats as partner_stats
from partnerhome.api import keys as api_keys

bp = Blueprint("partner", __name__, url_prefix="/mitra")


class PartnerNotReady(Exception):
    """The signed-in partner has no profile yet, or is not approved."""


@bp.errorhandler(PartnerNotReady)
def _not_ready(error: PartnerNotReady) -> Response:
    partner = partner_for(current_user)
    if partner is None:
        return redirect(url_for("partner.profile"))
    if partner.status == PartnerStatus.SUSPENDED:
        flash(_("Your partner account is suspended: offers and bundles cannot change."), "error")
    else:
        flash(_("This opens once Payung has approved your partner account."), "info")
    return redirect(url_for("partner.dashboard"))


def _partner(*, approved: bool = True) -> Partner:
    partner = partner_for(current_user)
    if partner is None or (approved and partner.status != PartnerStatus.APPROVED):
        raise PartnerNotReady()
    return partner


def _own_offer(partner: Partner, offer_id: int) -> Offer:
    offer = own_offer(partner, offer_id)
    if offer is None:
        abort(404)
    return offer


def _form_errors(form: OfferForm, error: OfferInvalid) -> None:
    for name, messages in error.errors.items():
        field = getattr(form, name, None) if name else None
        for message in messages:
            if field is None:
                flash(str(message), "error")
            else:
                field.errors.append(str(message))


@bp.route("")
@partner_required
def dashboard() -> str:
    partner = partner_for(current_user)
    if partner is None:
        # A partner account starts here: complete the profile, then wait for approval.
        return render_template(
            "bundles/partner/profile.html", form=new_profile_form(current_user), partner=None
        )
    if partner.status != PartnerStatus.APPROVED:
        return render_template("bundles/partner/waiting.html", partner=partner)
    offers = partner.offers
    pool_offers = [o for o in offers if o.fulfillment_method == FulfillmentMethod.CODE_POOL]
    period = partner_stats.Period.parse(None)
    return render_template(
        "bundles/partner_dashboard.html",
        partner=partner,
        offers=offers,
        sales=partner_stats.sales_by_offer(partner),
        sales_this_month=partner_stats.sales_by_offer(partner, period),
        stock=pools.stock_for(o.id for o in pool_offers),
        pool_offers=pool_offers,
        issued=partner_stats.issued_by_offer(partner),
        claimed=partner_stats.claimed_by_offer(partner),
        statement=partner_stats.settlement_statement(partner, period),
        bundles=bundle_catalog.bundles_of(partner),
    )


@bp.route("/profil", methods=["GET", "POST"])
@partner_required
def profile() -> str | Response:
    partner = partner_for(current_user)
    if partner is None and request.method == "GET":
        form = new_profile_form(current_user)
    else:
        form = PartnerProfileForm(obj=partner)
    if form.validate_on_submit():
        profile_data = PartnerProfile(
            name=form.name.data,
            kind=form.kind.data,
            contact_name=form.contact_name.data,
            contact_email=form.contact_email.data,
            contact_phone=form.contact_phone.data,
            website=form.website.data or "",
            description=form.description.data or "",
        )
        try:
            saved = submit_partner_profile(current_user, profile_data)
        except PartnerError as refused:
            form.kind.errors.append(str(refused.message))
        else:
            db.session.commit()
            if saved.status == PartnerStatus.PENDING:
                flash(
                    _("Thank you. Payung will review your profile within two working days."),
                    "success",
                )
            else:
                flash(_("Your profile is saved."), "success")
            return redirect(url_for("partner.dashboard"))
    return render_template("bundles/partner/profile.html", form=form, partner=partner)


@bp.route("/penawaran")
@partner_required
def offers() -> str:
    partner = _partner()
    pool_ids = [o.id for o in partner.offers if o.fulfillment_method == FulfillmentMethod.CODE_POOL]
    return render_template(
        "bundles/partner/offers.html",
        partner=partner,
        offers=partner.offers,
        stock=pools.stock_for(pool_ids),
    )


@bp.route("/penawaran/baru", methods=["GET", "POST"])
@partner_required
def offer_new() -> str | Response:
    partner = _partner()
    form = OfferForm()
    if request.method == "GET":  # start from what this kind of partner sells
        form.kind.data, form.fulfillment_method.data = default_offer_choices(partner.kind)
    if form.validate_on_submit():
        try:
            offer = create_offer(partner, form.values())
        except OfferInvalid as invalid:
            _form_errors(form, invalid)
        else:
            db.session.commit()
            flash(_("Offer saved."), "success")
            return redirect(url_for("partner.offer_detail", offer_id=offer.id))
    return render_template(
        "bundles/partner/offer_form.html", form=form, partner=partner, offer=None
    )


@bp.route("/penawaran/<int(max=2147483647):offer_id>/ubah", methods=["GET", "POST"])
@partner_required
def offer_edit(offer_id: int) -> str | Response:
    partner = _partner()
    offer = _own_offer(partner, offer_id)
    form = OfferForm(data=offer_values(offer) | {"operator": offer.operator or ""})
    if form.validate_on_submit():
        try:
            update_offer(offer, form.values() | {"kind": offer.kind})  # the kind never changes
        except OfferInvalid as invalid:
            _form_errors(form, invalid)
        else:
            db.session.commit()
            flash(_("Offer saved."), "success")
            return redirect(url_for("partner.offer_detail", offer_id=offer.id))
    return render_template(
        "bundles/partner/offer_form.html", form=form, partner=partner, offer=offer
    )


@bp.route("/penawaran/<int(max=2147483647):offer_id>")
@partner_required
def offer_detail(offer_id: int) -> str:
    partner = _partner()
    offer = _own_offer(partner, offer_id)
    return render_template(
        "bundles/partner/offer_detail.html",
        partner=partner,
        offer=offer,
        stock=pools.stock_for([offer.id])[offer.id],
        uploads=pools.uploads_for(offer),
        upload_form=CodeUploadForm(),
        confirm_form=ConfirmForm(),
        problems=None,
    )


@bp.route("/penawaran/<int(max=2147483647):offer_id>/kode", methods=["POST"])
@partner_required
def offer_upload_codes(offer_id: int) -> str | Response:
    partner = _partner()
    offer = _own_offer(partner, offer_id)
    form = CodeUploadForm()
    problems = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            cells = pools.parse_pool_csv(
                upload.read(current_app.config["POOL_UPLOAD_MAX_BYTES"] + 1)
            )
            rows = pools.check_code_rows(cells, today=jakarta_today())
            saved = pools.upload_pool_codes(
                offer, rows, filename=upload.filename or "", uploaded_by_id=current_user.id
            )
        except pools.PoolUploadRefused as refused:
            db.session.rollback()
            problems = refused
        else:
            db.session.commit()
            flash(_("%(count)s codes added to the pool.", count=f"{saved.code_count:,}"), "success")
            return redirect(url_for("partner.offer_detail", offer_id=offer.id))
    return render_template(
        "bundles/partner/offer_detail.html",
        partner=partner,
        offer=offer,
        stock=pools.stock_for([offer.id])[offer.id],
        uploads=pools.uploads_for(offer),
        upload_form=form,
        confirm_form=ConfirmForm(),
        problems=problems,
    ), 422 if problems or form.errors else 200


@bp.route("/penawaran/<int(max=2147483647):offer_id>/uji-koneksi", methods=["POST"])
@partner_required
def offer_test_connection(offer_id: int) -> Response:
    partner = _partner()
    offer = _own_offer(partner, offer_id)
    if ConfirmForm().validate_on_submit():
        result = check_partner_api(offer)
        db.session.commit()
        flash(str(result.message), "success" if result.ok else "error")
    return redirect(url_for("partner.offer_detail", offer_id=offer.id))


@bp.route("/kunci-api", methods=["GET", "POST"])
@partner_required
def api_key_list() -> str:
    partner = _partner()
    form = ApiKeyForm()
    new_key = None
    if form.validate_on_submit():
        try:
            _key, new_key = api_keys.create_api_key(
                partner, name=form.name.data, created_by_id=current_user.id
            )
        except api_keys.ApiKeyError as refused:
            form.name.errors.append(str(refused.message))
        else:
            db.session.commit()
            form = ApiKeyForm(formdata=None)
    return render_template(
        "bundles/partner/api_keys.html",
        partner=partner,
        form=form,
        new_key=new_key,
        keys=api_keys.keys_of(partner),
        confirm_form=ConfirmForm(),
    )


@bp.route("/kunci-api/<int(max=2147483647):key_id>/cabut", methods=["POST"])
@partner_required
def api_key_revoke(key_id: int) -> Response:
    partner = _partner(approved=False)
    key = queries.own_api_key(partner, key_id)
    if key is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        api_keys.revoke_api_key(key)
        db.session.commit()
        flash(_("The key is revoked: requests with it are refused from now on."), "success")
    return redirect(url_for("partner.api_key_list"))


@bp.route("/penyelesaian")
@partner_required
def settlement() -> str:
    partner = _partner(approved=False)
    period = partner_stats.Period.parse(request.args.get("periode"))
    statement = partner_stats.settlement_statement(
        partner, period, locale=str(current_user.locale or "id")
    )
    return render_template(
        "bundles/partner/settlement.html", partner=partner, statement=statement, period=period
    )


@bp.route("/penyelesaian.csv")
@partner_required
def settlement_csv() -> Response:
    partner = _partner(approved=False)
    period = partner_stats.Period.parse(request.args.get("periode"))
    statement = partner_stats.settlement_statement(partner, period)
    return Response(
        partner_stats.statement_csv(statement),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="payung-settlement-{period.key}.csv"'
        },
    )


@bp.route("/kode-terkirim")
@partner_required
def delivered_codes() -> str:
    partner = _partner(approved=False)
    page = partner_stats.issued_codes(
        partner, page=request.args.get("page", 1, type=int), per_page=50
    )
    names = {offer.id: offer for offer in partner.offers}
    return render_template(
        "bundles/partner/delivered.html", partner=partner, page=page, offers=names
    )
