"""Payung's application factory: a table of contents of what the app is made of."""

import os
from typing import Any

from flask import Flask

from config import CONFIGS
from database import register_database
from extensions import csrf, limiter, login_manager
from i18n import register_i18n
from jobs import register_jobs
from security import register_security


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    env_name = (test_config or {}).get("ENV_NAME") or os.environ.get("PAYUNG_ENV", "production")
    app.config.from_object(CONFIGS[env_name])
    app.config.from_prefixed_env("PAYUNG")
    if test_config:
        app.config.update(test_config)

    register_security(app)
    register_database(app)
    register_extensions(app)
    register_i18n(app)
    register_jobs(app)
    register_blueprints(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


def register_blueprints(app: Flask) -> None:
    from accounts.views import bp as accounts_bp
    from admin.audit_log import bp as admin_audit_bp
    from admin.dues import bp as admin_dues_bp
    from admin.messages_log import bp as admin_messages_bp
    from admin.orders import bp as admin_orders_bp
    from admin.partners import bp as admin_partners_bp
    from admin.views import bp as admin_bp
    from bundles.bundle_views import bp as bundle_editor_bp
    from bundles.views import bp as bundles_bp
    from fulfillment.claims.sms_inbound import bp as sms_inbound_bp
    from fulfillment.claims.views import bp as claim_bp
    from fulfillment.issuers.callback_views import bp as fulfillment_callbacks_bp
    from pages.outbox import bp as outbox_bp
    from pages.views import bp as pages_bp
    from pages.views import register_error_pages
    from partnerhome.api.routes import register_partner_api
    from partnerhome.views import bp as partner_bp
    from sponsorship.checkout.views import bp as checkout_bp
    from sponsorship.continuity.renewals.link_views import bp as renewal_links_bp
    from sponsorship.continuity.renewals.views import bp as renewals_bp
    from sponsorship.notes.views import bp as sponsor_note_bp
    from sponsorship.payments.webhooks import bp as stripe_webhooks_bp
    from sponsorship.views import bp as sponsorship_bp
    from workerhome.home_views import bp as fulfillment_bp
    from workerhome.thanks_views import bp as thanks_bp
    from workerhome.views import bp as worker_self_bp

    for blueprint in (pages_bp, accounts_bp, sponsorship_bp, bundles_bp, fulfillment_bp, admin_bp):
        app.register_blueprint(blueprint)
    for blueprint in (partner_bp, bundle_editor_bp, admin_partners_bp, admin_dues_bp):
        app.register_blueprint(blueprint)
    for blueprint in (admin_orders_bp, admin_messages_bp, admin_audit_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(fulfillment_callbacks_bp)
    app.register_blueprint(claim_bp)
    app.register_blueprint(sms_inbound_bp)
    app.register_blueprint(checkout_bp)
    app.register_blueprint(renewals_bp)
    app.register_blueprint(renewal_links_bp)
    app.register_blueprint(stripe_webhooks_bp)
    for blueprint in (worker_self_bp, thanks_bp, sponsor_note_bp):  # issue 7: worker home
        app.register_blueprint(blueprint)
    if app.config["DEV_OUTBOX"]:
        app.register_blueprint(outbox_bp)
    register_error_pages(app)
    register_partner_api(app)  # after the error pages: its JSON errors wrap them


def register_cli(app: Flask) -> None:
    from demo import seed_demo_command
    from fulfillment.cli import fulfillment_cli
    from sponsorship.continuity.cli import continuity_cli

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(fulfillment_cli)
    app.cli.add_command(continuity_cli)
