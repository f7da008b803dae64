"""Small bar charts drawn on the server as inline SVG: no JavaScript, no CDN, no inline styles.

The strict CSP (``style-src 'self'``) forbids ``style`` attributes, so the SVG carries only
geometry and classes; colours and fonts come from ``static/css/payung.css`` (``.chart*``).
Each chart is a ``<figure>`` with an ``<svg role="img">`` named by its ``<title>``, a text
label and a value beside every bar, and the same numbers as a visually hidden table for
screen readers and text browsers.

Bars are horizontal with the label above each bar, so long province names fit on a 360 px
phone and the chart scales with its container (``viewBox``). ``dashboard_charts`` draws the
sponsor dashboard's charts (spending, workers by province and by occupation).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup

from core.identity import OCCUPATION_LABELS, PROVINCES, Occupation
from i18n import number, rupiah
from sponsorship.dashboard.services import Share, SponsorDashboard

WIDTH = 320
ROW_HEIGHT = 34
BAR_HEIGHT = 12
VALUE_ROOM = 100  # right of the longest bar, for its value ("Rp12.345.678")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    *,
    label_heading: str,
    value_heading: str,
    format_value: Callable[[int], str] = str,
) -> Markup:
    """One chart as a ``<figure>``; ``chart_id`` must be unique on the page. Negative
    values (a month with more refunded than paid) get an empty bar and keep their sign."""
    largest = max((bar.value for bar in bars), default=0)
    scale = (WIDTH - VALUE_ROOM) / largest if largest > 0 else 0
    rows = Markup("").join(
        _ROW.format(
            label=bar.label,
            value=format_value(bar.value),
            label_y=index * ROW_HEIGHT + 12,
            bar_y=index * ROW_HEIGHT + 17,
            value_y=index * ROW_HEIGHT + 27,
            length=round(max(bar.value, 0) * scale),
            value_x=round(max(bar.value, 0) * scale) + 6,
            bar_height=BAR_HEIGHT,
        )
        for index, bar in enumerate(bars)
    )
    table_rows = Markup("").join(
        _TABLE_ROW.format(label=bar.label, value=format_value(bar.value)) for bar in bars
    )
    return _FIGURE.format(
        id=chart_id,
        title=title,
        width=WIDTH,
        height=max(len(bars), 1) * ROW_HEIGHT,
        rows=rows,
        label_heading=label_heading,
        value_heading=value_heading,
        table_rows=table_rows,
    )


# Markup.format escapes every argument that is not Markup itself.
_ROW = Markup(
    '<g class="chart-row"><text class="chart-label" x="0" y="{label_y}">{label}</text>'
    '<rect class="chart-bar" x="0" y="{bar_y}" width="{length}" height="{bar_height}" rx="2">'
    "<title>{label}: {value}</title></rect>"
    '<text class="chart-value" x="{value_x}" y="{value_y}">{value}</text></g>'
)
_TABLE_ROW = Markup('<tr><th scope="row">{label}</th><td class="num">{value}</td></tr>')
_FIGURE = Markup(
    '<figure class="chart" id="{id}">'
    '<svg class="chart-svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
    'role="img" aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg">'
    '<title id="{id}-title">{title}</title>{rows}</svg>'
    # The table sits in a hidden div: a table itself does not shrink to 1 px.
    '<div class="visually-hidden"><table><caption>{title}</caption>'
    '<thead><tr><th scope="col">{label_heading}</th><th scope="col">{value_heading}</th></tr>'
    "</thead><tbody>{table_rows}</tbody></table></div></figure>"
)


# --- the sponsor's dashboard -------------------------------------------------------------

Namer = Callable[[str | None], str]


def occupation_name(code: str | None) -> str:
    try:
        return str(OCCUPATION_LABELS[Occupation(code)])
    except ValueError:
        return code or ""


def province_name(code: str | None) -> str:
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
        province_name,
    )
    shares_chart(
        "occupation",
        _("Workers you fund, by occupation"),
        _("Occupation"),
        summary.by_occupation,
        occupation_name,
    )
    return charts
