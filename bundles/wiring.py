"""How ``bundles`` plugs into the app: the catalogue and the bundle editor. Importing
``bundles.catalog_stamp`` installs its session listeners (every catalogue edit restamps)."""

from flask import Flask

from bundles import catalog_stamp
from bundles.bundle_views import bp as bundle_editor_bp
from bundles.views import bp

STAMPED_MODELS = catalog_stamp.CATALOG_MODELS


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(bundle_editor_bp)
