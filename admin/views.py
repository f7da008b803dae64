"""Admin console pages."""

from flask import Blueprint, render_template
from flask_babel import format_percent

from accounts.access import admin_required
from admin import fulfillment
from admin.figures import platform_figures

bp = Blueprint("admin", __name__, url_prefix="/admin")
fulfillment.register(bp)


@bp.route("/")
@admin_required
def index() -> str:
    figures = platform_figures()
    rate = figures.lapse_rate
    return render_template(
        "admin/index.html",
        figures=figures,
        lapse_rate="–" if rate is None else format_percent(rate, "#,##0.0%"),
    )
