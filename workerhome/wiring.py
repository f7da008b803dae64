"""How the worker's own pages plug into the app: home, own record, thanks."""

from flask import Flask

from workerhome.home_views import bp as home_bp
from workerhome.message_views import bp as messages_bp
from workerhome.thanks_views import bp as thanks_bp
from workerhome.views import bp as self_bp


def register(app: Flask) -> None:
    for blueprint in (home_bp, self_bp, thanks_bp, messages_bp):
        app.register_blueprint(blueprint)
