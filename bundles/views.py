"""Catalog pages for sponsors and the partner's home."""

from flask import Blueprint, abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.access import partner_required, public
from bundles.models import Bundle, BundlePart
from extensions import db

bp = Blueprint("bundles", __name__)


@bp.route("/paket")
@public
def catalog() -> str:
    bundles = db.session.scalars(
        select(Bundle)
        .where(Bundle.is_published.is_(True))
        .options(selectinload(Bundle.parts).selectinload(BundlePart.offer))
        .order_by(Bundle.name)
    ).all()
    return render_template("bundles/catalog.html", bundles=bundles)


@bp.route("/paket/<slug>")
@public
def bundle_detail(slug: str) -> str:
    bundle = db.session.scalar(
        select(Bundle).where(Bundle.slug == slug, Bundle.is_published.is_(True))
    )
    if bundle is None:
        abort(404)
    return render_template("bundles/detail.html", bundle=bundle)


@bp.route("/mitra")
@partner_required
def partner_dashboard() -> str:
    return render_template("bundles/partner_dashboard.html")
