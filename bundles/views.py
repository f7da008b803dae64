"""Catalog pages for sponsors and the partner's home (dashboard)."""

from flask import Blueprint, abort, render_template, request

from accounts.access import public
from bundles.bundle_page import bundle_page_content, catalog_content

bp = Blueprint("bundles", __name__)


@bp.route("/paket")
@public
def catalog() -> str:
    return render_template("bundles/catalog.html", content=catalog_content())


@bp.route("/paket/<slug>")
@public
def bundle_detail(slug: str) -> str:
    page = bundle_page_content(slug, request.args)
    if page is None:
        abort(404)
    return render_template("bundles/detail.html", page=page)
