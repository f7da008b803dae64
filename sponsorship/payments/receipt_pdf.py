"""Receipts and yearly statements as PDF files, drawn with fpdf2 without any network.

The text is Indonesian (the caller renders inside ``force_locale("id")``). DejaVu Sans is
embedded when it is installed (Debian: fonts-dejavu-core; ``RECEIPT_FONT_DIR`` points
elsewhere); without it the PDF falls back to the core Helvetica font, which only knows
Latin-1, so the text is folded to Latin-1 first.
"""

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from flask import Response, current_app
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from accounts.organisations import Organisation
from core.identity import OCCUPATION_LABELS, PROVINCES, Occupation
from i18n import rupiah
from sponsorship.checkout.models import PayerKind
from sponsorship.payments.receipts import Receipt, Statement

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
_LATIN1_FOLDS = str.maketrans(
    {"–": "-", "—": "-", "−": "-", "·": "-", "…": "...", "“": '"', "”": '"', "’": "'"}
)
PAGE_WIDTH = 180  # A4 minus 15 mm margins


def payer_kind_label(kind: PayerKind | str) -> str:
    return {
        PayerKind.PERSON: _("Individual"),
        PayerKind.COMPANY: _("Company (CSR)"),
        PayerKind.GOVERNMENT: _("Government (state or regional budget)"),
    }[PayerKind(kind)]


def organisation_facts(organisation: Organisation | None) -> list[tuple[str, str]]:
    """The legal name, address and NPWP of a company or government sponsor, for the heading
    of its receipts, statements and invoices (nothing for a person)."""
    if organisation is None:
        return []
    return [
        (_("Legal name"), organisation.legal_name),
        (_("Address"), " ".join(organisation.address.split())),
        (_("NPWP"), organisation.npwp_display),
    ]


def month_label(month: date) -> str:
    return format_date(month, "MMM yyyy")


class _Document(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(title)
        self.set_author("Payung")
        self.set_creator("Payung")
        self.family = self._load_font()
        self.unicode = self.family != "helvetica"

    def _load_font(self) -> str:
        folder = Path(current_app.config.get("RECEIPT_FONT_DIR") or DEFAULT_FONT_DIR)
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            self.add_font("dejavu", "", str(regular))
            self.add_font("dejavu", "B", str(bold))
            return "dejavu"
        return "helvetica"

    def text_of(self, value: object) -> str:
        text = str(value)
        if self.unicode:
            return text
        return text.translate(_LATIN1_FOLDS).encode("latin-1", "replace").decode("latin-1")

    def style(self, size: float = 9, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def row(
        self,
        cells: Sequence[tuple[object, float, str]],
        *,
        bold: bool = False,
        size: float = 9,
        height: float = 5.5,
        border: str | int = 0,
    ) -> None:
        """One line of cells (text, width, align); long text is cut to its cell."""
        self.style(size, bold)
        for text, width, align in cells:
            value = self.text_of(text)
            while value and self.get_string_width(value) > width - 1.5:
                value = value[:-2] + "…" if self.unicode else value[:-4] + "..."
            self.cell(width, height, value, border=border, align=align)
        self.ln(height)

    def wrapped_row(
        self,
        cells: Sequence[tuple[object, float, str]],
        *,
        bold: bool = False,
        size: float = 9,
        height: float = 5.5,
    ) -> None:
        """One line of cells (text, width, align) whose long text wraps onto more lines instead
        of being cut; the row is as tall as its tallest cell and is never split by a page."""
        self.style(size, bold)
        texts = [(self.text_of(text), width, align) for text, width, align in cells]
        if all(self._fits(text, width) for text, width, _align in texts):
            # Most rows fit on one line: measuring them with multi_cell made a 1,000-worker
            # receipt or invoice take seconds (see sponsorship/invoices/pdf.py).
            if self.will_page_break(height):
                self.add_page()
            for text, width, align in texts:
                if text:
                    self.cell(width, height, text, align=align)
                else:  # an indent: nothing to draw
                    self.set_x(self.get_x() + width)
            self.ln(height)
            return
        lines = max(
            len(self.multi_cell(width, height, text, dry_run=True, output=MethodReturnValue.LINES))
            for text, width, _align in texts
        )
        if self.will_page_break(lines * height):
            self.add_page()
        top = self.get_y()
        for text, width, align in texts:
            self.multi_cell(width, height, text, align=align, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.set_xy(self.l_margin, top + lines * height)

    def _fits(self, text: str, width: float) -> bool:
        return "\n" not in text and self.get_string_width(text) <= width - 2 * self.c_margin

    def footer(self) -> None:
        self.set_y(-13)
        self.style(7)
        self.set_text_color(90, 90, 90)
        note = _("Dues go directly to BPJS Ketenagakerjaan.")
        self.cell(PAGE_WIDTH - 30, 5, self.text_of(f"Payung · {self.doc_title} · {note}"))
        self.cell(30, 5, self.text_of(f"{self.page_no()}/{{nb}}"), align="R")
        self.set_text_color(0, 0, 0)

    def heading(self, title: str, facts: Sequence[tuple[str, str]]) -> None:
        self.add_page()
        self.style(18, bold=True)
        self.cell(0, 10, self.text_of(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for label, value in facts:  # an address may take two lines
            self.wrapped_row([(label, 45, "L"), (value, PAGE_WIDTH - 45, "L")])
        self.ln(3)

    def output_bytes(self) -> bytes:
        self.alias_nb_pages()
        return bytes(self.output())


# Invoices (``sponsorship.invoices.pdf``) are drawn with the same page, fonts and rows.
PdfDocument = _Document


def receipt_pdf(receipt: Receipt) -> bytes:
    order = receipt.order
    pdf = _Document(_("Receipt %(reference)s", reference=order.reference))
    paid = format_datetime(order.paid_at, "d MMMM yyyy HH:mm") if order.paid_at else "–"
    pdf.heading(
        _("Receipt"),
        [
            (_("Order"), order.reference),
            (_("Paid on"), paid),
            (_("Sponsor"), f"{receipt.sponsor.display_name} <{receipt.sponsor.email or ''}>"),
            *organisation_facts(receipt.organisation),
            (_("Paid as"), payer_kind_label(receipt.payer_kind)),
            (_("Workers"), str(order.worker_count)),
        ],
    )
    widths = (45, 62, 45, 28)  # the months column holds "Sep 2026 – Agu 2027" on one line
    pdf.row(
        [
            (_("Worker"), widths[0], "L"),
            (_("Bundle and parts"), widths[1], "L"),
            (_("Months"), widths[2], "L"),
            (_("Amount"), widths[3], "R"),
        ],
        bold=True,
        border="B",
    )
    for line in receipt.lines:
        months = f"{month_label(line.first_month)} – {month_label(line.last_month)}"
        pdf.wrapped_row(
            [
                (f"{line.worker_name} (#{line.worker_id})", widths[0], "L"),
                (line.bundle_name, widths[1], "L"),
                (months, widths[2], "L"),
                (rupiah(line.total_idr), widths[3], "R"),
            ],
            bold=True,
        )
        for part in line.parts:
            name = f"  {part.name_id}"
            if part.quantity > 1:
                name += f" × {part.quantity}"
            pdf.wrapped_row(
                [
                    ("", widths[0], "L"),
                    (name, widths[1] + widths[2], "L"),
                    (rupiah(part.amount_idr), widths[3], "R"),
                ],
                size=8,
                height=4.5,
            )
            if part.refunded_idr:
                pdf.wrapped_row(
                    [
                        ("", widths[0], "L"),
                        ("    " + _("Refunded"), widths[1] + widths[2], "L"),
                        (rupiah(-part.refunded_idr), widths[3], "R"),
                    ],
                    size=8,
                    height=4.5,
                )
        if line.platform_fee_idr:
            pdf.wrapped_row(
                [
                    ("", widths[0], "L"),
                    ("  " + _("Payung platform fee"), widths[1] + widths[2], "L"),
                    (rupiah(line.platform_fee_idr), widths[3], "R"),
                ],
                size=8,
                height=4.5,
            )
    pdf.ln(2)
    totals = [(_("Total paid"), order.total_idr)]
    if receipt.refunds:
        totals += [(_("Refunded"), -receipt.refunded_idr), (_("Net amount"), receipt.net_idr)]
    for label, amount in totals:
        pdf.row([(label, PAGE_WIDTH - 40, "R"), (rupiah(amount), 40, "R")], bold=True, size=10)
    for refund in receipt.refunds:
        when = format_date(refund.created_at, "d MMM yyyy")
        pdf.wrapped_row(
            [
                (f"{when}: {refund.reason}", PAGE_WIDTH - 40, "L"),
                (rupiah(-refund.amount_idr), 40, "R"),
            ],
            size=8,
        )
    return pdf.output_bytes()


def statement_pdf(statement: Statement) -> bytes:
    title = _("Yearly statement %(year)s", year=statement.year)
    pdf = _Document(title)
    pdf.heading(
        title,
        [
            (_("Sponsor"), statement.sponsor.display_name),
            *organisation_facts(statement.organisation),
            (_("Workers covered"), str(statement.workers_covered)),
            (_("Months of cover funded"), str(statement.months_funded)),
            (_("Paid"), rupiah(statement.paid_idr)),
            (_("Refunded"), rupiah(statement.refunded_idr)),
            (_("Net amount"), rupiah(statement.net_idr)),
        ],
    )
    widths = (45, 25, 40, 35, 35)
    header = (_("Month"), _("Orders"), _("Paid"), _("Refunded"), _("Net amount"))
    aligns = ("L", "R", "R", "R", "R")
    pdf.row(list(zip(header, widths, aligns, strict=True)), bold=True, border="B")
    for month in statement.months:
        values = (
            format_date(month.month, "MMMM yyyy"),
            str(month.orders),
            rupiah(month.paid_idr),
            rupiah(month.refunded_idr),
            rupiah(month.net_idr),
        )
        pdf.row(list(zip(values, widths, aligns, strict=True)))
    totals = (
        _("Total"),
        str(len(statement.orders)),
        rupiah(statement.paid_idr),
        rupiah(statement.refunded_idr),
        rupiah(statement.net_idr),
    )
    pdf.row(list(zip(totals, widths, aligns, strict=True)), bold=True, border="T")
    _statement_shares(pdf, statement)
    if statement.orders:
        pdf.ln(4)
        pdf.row([(_("Orders"), PAGE_WIDTH, "L")], bold=True, size=11)
        for order in statement.orders:
            pdf.row(
                [
                    (order.reference, 40, "L"),
                    (format_date(order.paid_at, "d MMM yyyy"), 40, "L"),
                    (_("%(count)s workers", count=order.worker_count), 60, "L"),
                    (rupiah(order.total_idr), 40, "R"),
                ]
            )
    return pdf.output_bytes()


def _statement_shares(pdf: _Document, statement: Statement) -> None:
    """Workers covered and months funded by province and by occupation (for CSR reports)."""
    sections = (
        (_("Workers covered by province"), _("Province"), statement.by_province, PROVINCES.get),
        (
            _("Workers covered by occupation"),
            _("Occupation"),
            statement.by_occupation,
            _occupation_name,
        ),
    )
    for title, heading, shares, name in sections:
        if not shares:
            continue
        pdf.ln(4)
        pdf.row([(title, PAGE_WIDTH, "L")], bold=True, size=11)
        header = ((heading, 90, "L"), (_("Workers covered"), 45, "R"))
        pdf.row([*header, (_("Months of cover funded"), 45, "R")], bold=True, border="B")
        for share in shares:
            label = name(share.key) or share.key
            pdf.row([(label, 90, "L"), (str(share.workers), 45, "R"), (str(share.months), 45, "R")])


def _occupation_name(code: str) -> str:
    try:
        return str(OCCUPATION_LABELS[Occupation(code)])
    except ValueError:
        return code


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF download, never cached by shared caches (receipts are personal)."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
