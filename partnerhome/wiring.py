"""How the partner's console plugs into the app: its pages and the partner JSON API."""

from flask import Flask

from partnerhome import filters
from partnerhome.api.routes import register_partner_api
from partnerhome.views import bp


def register(app: Flask) -> None:
    """Call after the HTML error pages are registered (the API's JSON errors wrap them)."""
    app.register_blueprint(bp)
    register_partner_api(app)
    filters.register(app)
