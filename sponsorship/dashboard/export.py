"""The sponsor's workers as a CSV file (one row a worker they funded), streamed."""

from collections.abc import Iterator
from datetime import date

from flask_babel import gettext as _

from accounts.models import User
from core.identity import first_name_and_initial
from core.spreadsheets import safe_cell, stream_csv
from sponsorship.continuity.ledger import CoverageStage, stage_on
from sponsorship.dashboard import services as dashboard
from sponsorship.dashboard.charts import occupation_name, province_name


def workers_csv_lines(sponsor: User, today: date) -> Iterator[str]:
    """The CSV text in chunks: a header in the sponsor's language, then their workers."""
    header = [
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
    yes, no = _("Yes"), _("No")
    stages = {stage: str(stage.label) for stage in CoverageStage}
    rows = (
        [
            row.worker_id,
            safe_cell(first_name_and_initial(row.full_name)),
            safe_cell(occupation_name(row.occupation)),
            safe_cell(province_name(row.province_code)),
            safe_cell(row.regency),
            row.months_funded,
            row.first_month.isoformat(),
            row.last_day.isoformat(),
            row.covered_until.isoformat() if row.covered_until else "",
            yes if row.is_covered_now else no,
            stages[stage_on(row.covered_until, today)],
        ]
        for row in dashboard.export_rows(sponsor, today)
    )
    return stream_csv(header, rows)
