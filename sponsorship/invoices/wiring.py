"""How invoices plug into the app: their pages, checkout's place-order hook (an invoice over
the threshold or when ticked) and what checkout's templates need to show and offer one."""

from flask import Flask

from sponsorship.checkout.orders import when_order_placed
from sponsorship.invoices.services import issue_when_due
from sponsorship.invoices.views import bp, invoice_page_context


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    when_order_placed(issue_when_due)
    app.context_processor(invoice_page_context)
