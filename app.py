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
    from admin.views import bp as admin_bp
    from bundles.views import bp as bundles_bp
    from fulfillment.outbox import bp as outbox_bp
    from fulfillment.views import bp as fulfillment_bp
    from pages.views import bp as pages_bp
    from pages.views import register_error_pages
    from sponsorship.views import bp as sponsorship_bp

    for blueprint in (pages_bp, accounts_bp, sponsorship_bp, bundles_bp, fulfillment_bp, admin_bp):
        app.register_blueprint(blueprint)
    if app.config["DEV_OUTBOX"]:
        app.register_blueprint(outbox_bp)
    register_error_pages(app)


def register_cli(app: Flask) -> None:
    from demo import seed_demo_command

    app.cli.add_command(seed_demo_command)
