"""The sponsor's home page (figures, charts, workers about to lapse, statements) and the CSV
export of the sponsor's workers. Nested in the ``sponsorship`` blueprint, so the export's
endpoint is ``sponsorship.reports.workers_csv``; the page itself stays
``sponsorship.dashboard.services`` (``sponsorship.views`` calls ``render_dashboard``).
"""

from flask import Blueprint, Response, render_template, stream_with_context
from flask_login import current_user

from accounts.access import sponsor_required
from core.dates import jakarta_today
from sponsorship.continuity.ledger import LAPSING_DAYS
from sponsorship.dashboard import export
from sponsorship.dashboard import services as dashboard
from sponsorship.dashboard.charts import dashboard_charts
from workers.directory.queries import recent_selections

bp = Blueprint("reports", __name__)


def render_dashboard() -> str:
    summary = dashboard.sponsor_dashboard(current_user, jakarta_today())
    return render_template(
        "sponsorship/dashboard.html",
        selections=recent_selections(current_user),
        summary=summary,
        charts=dashboard_charts(summary),
        lapsing_days=LAPSING_DAYS,
    )


@bp.route("/sponsor/ekspor.csv")
@sponsor_required
def workers_csv() -> Response:
    today = jakarta_today()
    filename = f"payung-pekerja-{today.isoformat()}.csv"
    return Response(
        stream_with_context(export.workers_csv_lines(current_user, today)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
