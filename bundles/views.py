"""Catalog pages for sponsors and the partner's home (dashboard)."""

from flask import Blueprint, abort, render_template, request

from accounts.access import public
from bundles import catalog as bundle_catalog
from bundles.bundle_page import bundle_page

bp = Blueprint("bundles", __name__)


@bp.route("/paket")
@public
def catalog() -> str:
    return render_template("bundles/catalog.html", bundles=bundle_catalog.catalog_bundles())


@bp.route("/paket/<slug>")
@public
def bundle_detail(slug: str) -> str:
    page = bundle_page(slug, request.args)
    if page is None:
        abort(404)
    return render_template("bundles/detail.html", page=page)
