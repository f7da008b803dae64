"""How ``accounts`` plugs into the app: sign-in pages and the sponsor's organisation page."""

from flask import Flask

from accounts import organisation_views  # noqa: F401 (its route joins the accounts blueprint)
from accounts.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
