"""How ``bundles`` plugs into the app: the catalogue and the bundle editor."""

from flask import Flask

from bundles.bundle_views import bp as bundle_editor_bp
from bundles.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(bundle_editor_bp)
