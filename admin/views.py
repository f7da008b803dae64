"""Admin console pages."""

from flask import Blueprint, render_template

from accounts.access import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index() -> str:
    return render_template("admin/index.html")
