"""Admin console pages."""

from flask import Blueprint, render_template

from accounts.access import admin_required
from admin import fulfillment

bp = Blueprint("admin", __name__, url_prefix="/admin")
fulfillment.register(bp)


@bp.route("/")
@admin_required
def index() -> str:
    return render_template("admin/index.html")
