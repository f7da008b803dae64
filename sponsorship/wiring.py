"""How ``sponsorship`` plugs into the app: the sponsor's pages (directory, registration and
enrolment, reports), checkout, renewals, the Stripe webhook, sponsor notes, and
``flask continuity``."""

from flask import Flask

from sponsorship import filters
from sponsorship.checkout.views import bp as checkout_bp
from sponsorship.continuity.cli import continuity_cli
from sponsorship.continuity.renewals.link_views import bp as renewal_links_bp
from sponsorship.continuity.renewals.views import bp as renewals_bp
from sponsorship.invoices import wiring as invoices
from sponsorship.notes.views import bp as sponsor_note_bp
from sponsorship.payments import local_views  # noqa: F401 (its routes join checkout)
from sponsorship.payments import views as payment_pages  # noqa: F401 (its routes join checkout)
from sponsorship.payments.webhooks import bp as stripe_webhooks_bp
from sponsorship.views import bp


def register(app: Flask) -> None:
    for blueprint in (bp, checkout_bp, renewals_bp, renewal_links_bp, stripe_webhooks_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(sponsor_note_bp)
    app.cli.add_command(continuity_cli)
    filters.register(app)
    invoices.register(app)
