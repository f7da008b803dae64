"""Payung's application factory: a table of contents of what the app is made of."""

import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from accounts import wiring as accounts
from admin import wiring as admin
from bundles import wiring as bundles
from config import CONFIGS
from core.runtime import collect_between_requests, settle_garbage_collector
from database import register_database
from demo import seed_demo_command
from extensions import csrf, limiter, login_manager
from fulfillment import wiring as fulfillment
from i18n import register_i18n
from jobs import register_jobs
from messaging import wiring as messaging
from pages import wiring as pages
from partnerhome import wiring as partnerhome
from security import register_security
from sponsorship import wiring as sponsorship
from workerhome import wiring as workerhome


class PayungFlask(Flask):
    """Flask, with ``ensure_sync``'s answer kept per function: Flask asks ``inspect`` whether
    the view and each request hook is a coroutine function, about ten times a request (7 % of
    a minimal page, issue 16). Payung has no async views and a function's answer never
    changes; new functions (at most a few hundred: views, hooks) are asked once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)
        made = super().ensure_sync(func)
        if len(self._sync) >= 4096:
            self._sync.clear()
        self._sync[func] = made
        return made


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = PayungFlask(__name__, instance_relative_config=True)
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
    register_packages(app)
    settle_garbage_collector(app)
    collect_between_requests(app)
    return app


def register_extensions(app: Flask) -> None:
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"


def register_packages(app: Flask) -> None:
    """Each package's blueprints, commands and signal receivers, lowest layer first
    (docs/architecture.md). The partner console comes last: its JSON errors wrap the pages'."""
    for package in (
        messaging,
        pages,
        accounts,
        bundles,
        sponsorship,
        fulfillment,
        workerhome,
        admin,
    ):
        package.register(app)
    partnerhome.register(app)
    app.cli.add_command(seed_demo_command)
