"""How the admin console plugs into the app."""

from flask import Flask

from admin.audit_log.views import bp as audit_bp
from admin.dues import bp as dues_bp
from admin.messages_log.views import bp as messages_bp
from admin.orders.views import bp as orders_bp
from admin.partners import bp as partners_bp
from admin.views import bp


def register(app: Flask) -> None:
    for blueprint in (bp, partners_bp, dues_bp, orders_bp, messages_bp, audit_bp):
        app.register_blueprint(blueprint)
