"""The sponsor's home page (figures, charts, workers about to lapse, statements) and the CSV
export of the sponsor's workers. Nested in the ``sponsorship`` blueprint, so the export's
endpoint is ``sponsorship.reports.workers_csv``; the page itself stays
``sponsorship.dashboard.services`` (``sponsorship.views`` calls ``render_dashboard``).
"""

import csv
import io
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, render_template, stream_with_context
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from accounts.access import sponsor_required
from core.dates import jakarta_today
from core.identity import OCCUPATION_LABELS, PROVINCES, Occupation, first_name_and_initial
from i18n import number, rupiah
from sponsorship.continuity.ledger import LAPSING_DAYS, CoverageStage, stage_on
from sponsorship.dashboard import services as dashboard
from sponsorship.dashboard.charts import Bar, bar_chart
from sponsorship.dashboard.services import Share, SponsorDashboard
from workers.directory.queries import recent_selections

bp = Blueprint("reports", __name__)
Namer = Callable[[str | None], str]


def _occupation(code: str | None) -> str:
    try:
        return str(OCCUPATION_LABELS[Occupation(code)])
    except ValueError:
        return code or ""


def _province(code: str | None) -> str:
    return PROVINCES.get(code, code) if code else _("Other provinces")


def dashboard_charts(summary: SponsorDashboard) -> dict[str, Markup]:
    """The page's charts, drawn only when they have something to show."""
    charts: dict[str, Markup] = {}
    if any(month.paid_idr or month.refunded_idr for month in summary.spending):
        charts["spending"] = bar_chart(
            "chart-spending",
            _("Spending per month, net of refunds"),
            [Bar(format_date(m.month, "MMM yyyy"), m.net_idr) for m in summary.spending],
            label_heading=_("Month"),
            value_heading=_("Net amount"),
            format_value=rupiah,
        )

    def shares_chart(
        chart_id: str, title: str, heading: str, shares: list[Share], name: Namer
    ) -> None:
        if shares:
            charts[chart_id] = bar_chart(
                f"chart-{chart_id}",
                title,
                [Bar(name(share.key), share.workers) for share in shares],
                label_heading=heading,
                value_heading=_("Workers"),
                format_value=number,
            )

    shares_chart(
        "province",
        _("Workers you fund, by province"),
        _("Province"),
        summary.by_province,
        _province,
    )
    shares_chart(
        "occupation",
        _("Workers you fund, by occupation"),
        _("Occupation"),
        summary.by_occupation,
        _occupation,
    )
    return charts


def render_dashboard() -> str:
    summary = dashboard.sponsor_dashboard(current_user, jakarta_today())
    return render_template(
        "sponsorship/dashboard.html",
        selections=recent_selections(current_user),
        summary=summary,
        charts=dashboard_charts(summary),
        lapsing_days=LAPSING_DAYS,
    )


# --- the CSV export ---------------------------------------------------------------------------


def safe_cell(value: str) -> str:
    """Cells open in spreadsheets: a name like ``=HYPERLINK(…)`` must stay text."""
    return f"'{value}" if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _csv_lines() -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(
        [
            _("Payung number"),
            _("Name"),
            _("Occupation"),
            _("Province"),
            _("Regency or city"),
            _("Months you funded"),
            _("First month you funded"),
            _("Last day you funded"),
            _("Covered until (all sponsors)"),
            _("Covered by you today"),
            _("Cover stage"),
        ]
    )
    yield "\ufeff" + flush()  # the BOM makes spreadsheet programs read UTF-8
    yes, no = _("Yes"), _("No")
    stages = {stage: str(stage.label) for stage in CoverageStage}
    today = jakarta_today()
    for n, row in enumerate(dashboard.export_rows(current_user, today), start=1):
        writer.writerow(
            [
                row.worker_id,
                safe_cell(first_name_and_initial(row.full_name)),
                safe_cell(_occupation(row.occupation)),
                safe_cell(_province(row.province_code)),
                safe_cell(row.regency),
                row.months_funded,
                row.first_month.isoformat(),
                row.last_day.isoformat(),
                row.covered_until.isoformat() if row.covered_until else "",
                yes if row.is_covered_now else no,
                stages[stage_on(row.covered_until, today)],
            ]
        )
        if n % 500 == 0:
            yield flush()
    yield flush()


@bp.route("/sponsor/ekspor.csv")
@sponsor_required
def workers_csv() -> Response:
    filename = f"payung-pekerja-{jakarta_today().isoformat()}.csv"
    return Response(
        stream_with_context(_csv_lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
