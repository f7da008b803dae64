"""The invoice as a PDF in Indonesian, drawn like the receipts (``receipt_pdf.PdfDocument``:
the same page, embedded font and rows)."""

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _

from core.npwp import format_npwp
from i18n import rupiah
from sponsorship.invoices.services import InvoiceView
from sponsorship.payments.receipt_pdf import PAGE_WIDTH, PdfDocument, month_label


def buyer_facts(view: InvoiceView) -> list[tuple[str, str]]:
    invoice = view.invoice
    facts = [(_("Billed to"), invoice.buyer_name)]
    if invoice.address:
        facts.append((_("Address"), " ".join(invoice.address.split())))
    if invoice.npwp:
        facts.append((_("NPWP"), format_npwp(invoice.npwp)))
    return facts


def invoice_pdf(view: InvoiceView) -> bytes:
    invoice, order = view.invoice, view.order
    pdf = PdfDocument(_("Invoice %(number)s", number=invoice.number))
    pdf.heading(
        _("Invoice"),
        [
            (_("Invoice number"), invoice.number),
            (_("Order"), order.reference),
            (_("Issued on"), format_date(invoice.issued_on, "d MMMM yyyy")),
            (_("Due on"), format_date(invoice.due_on, "d MMMM yyyy")),
            *buyer_facts(view),
            (_("Workers"), str(order.worker_count)),
        ],
    )
    widths = (50, 62, 40, 28)
    header = (_("Worker"), _("Bundle"), _("Months"), _("Amount"))
    pdf.row(list(zip(header, widths, ("L", "L", "L", "R"), strict=True)), bold=True, border="B")
    for line in view.lines:
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
        items = [(part.name_id, part.quantity, part.amount_idr) for part in line.parts]
        if line.platform_fee_idr:
            items.append((_("Payung platform fee"), 1, line.platform_fee_idr))
        for name, quantity, amount in items:
            label = f"  {name} × {quantity}" if quantity > 1 else f"  {name}"
            pdf.wrapped_row(
                [
                    ("", widths[0], "L"),
                    (label, widths[1] + widths[2], "L"),
                    (rupiah(amount), widths[3], "R"),
                ],
                size=8,
                height=4.5,
            )
    pdf.ln(2)
    pdf.row(
        [(_("Total due"), PAGE_WIDTH - 45, "R"), (rupiah(invoice.total_idr), 45, "R")],
        bold=True,
        size=11,
    )
    pdf.ln(4)
    pdf.row([(_("How to pay"), PAGE_WIDTH, "L")], bold=True, size=11)
    for label, value in payment_facts(view):
        pdf.wrapped_row([(label, 45, "L"), (value, PAGE_WIDTH - 45, "L")])
    return pdf.output_bytes()


def payment_facts(view: InvoiceView) -> list[tuple[str, str]]:
    invoice = view.invoice
    if view.is_paid:
        paid = (
            format_datetime(view.order.paid_at, "d MMMM yyyy HH:mm") if view.order.paid_at else ""
        )
        return [(_("Status"), _("Paid %(date)s. Thank you.", date=paid))]
    if view.is_void:
        return [
            (
                _("Status"),
                _(
                    "Void: the order was cancelled or its prices expired. Do not transfer; "
                    "money sent anyway is returned."
                ),
            )
        ]
    if not invoice.has_va:
        return [
            (
                _("Virtual account"),
                _("Not opened yet. Open the invoice page in Payung to get the account number."),
            )
        ]
    deadline = format_datetime(invoice.va_expires_at, "d MMMM yyyy HH:mm")
    return [
        (_("Method"), _("Bank transfer to a virtual account")),
        (_("Bank"), invoice.va_bank),
        (_("Virtual account number"), invoice.va_number or ""),
        (_("Exact amount"), rupiah(invoice.va_amount_idr or invoice.total_idr)),
        (_("Pay before"), f"{deadline} WIB"),
        (_("Note"), _("Transfer exactly this amount; the order is paid when it arrives.")),
    ]
