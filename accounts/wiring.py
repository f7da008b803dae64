"""How ``accounts`` plugs into the app: sign-in pages."""

from flask import Flask

from accounts.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
