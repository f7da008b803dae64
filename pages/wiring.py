"""How ``pages`` plugs into the app: the public pages, the error pages, the dev outbox, and
static files with their fingerprints."""

from flask import Flask

from pages.fragments import register_fragments
from pages.outbox import bp as outbox_bp
from pages.static_files import register_static_files
from pages.views import bp, register_error_pages


def register(app: Flask) -> None:
    register_static_files(app)
    register_fragments(app)
    app.register_blueprint(bp)
    if app.config["DEV_OUTBOX"]:
        app.register_blueprint(outbox_bp)
    register_error_pages(app)
