"""Flask extensions, created unbound. Everything imports them from here, never from ``app``."""

from datetime import UTC, datetime
from typing import TypeVar

from celery import Celery, Task
from flask import Flask, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations can find and change them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ModelClass = TypeVar("ModelClass", bound=type)


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete a row of a history table."""


def append_only(model: ModelClass) -> ModelClass:
    """Class decorator for history tables (audit and event rows): rows are added, never
    updated or deleted through the ORM."""

    def refuse(mapper: object, connection: object, target: object) -> None:
        raise AppendOnlyError(f"{type(target).__name__} rows are append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
    return model


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class LeanLimiter(Limiter):
    """Flask-Limiter, without its before-request pass where no limit can apply there.

    Payung has no default, application or meta limits: every limit is on a view (checked by
    the decorator's own wrapper when the view runs) or on a blueprint (the partner API's
    shared budget, checked before the request). Flask-Limiter still resolved the limits of
    every request before it, 15 % of a minimal page (issue 16). Here that pass runs only when
    something could apply to it: a blueprint with limits among the request's blueprints, an
    endpoint with limit hints, limits set for the whole app, or a dead storage to recover.
    """

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if in_middleware and callable_name is None and self._nothing_before_the_view():
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _nothing_before_the_view(self) -> bool:
        manager = self.limit_manager
        if manager.application_limits or manager.default_limits or self._meta_limits:
            return False
        if self._storage_dead or manager.has_hints(request.endpoint or ""):
            return False
        blueprint_limits = manager._blueprint_limits
        if blueprint_limits and request.blueprint:
            return not any(part in blueprint_limits for part in request.blueprint.split("."))
        return True


limiter = LeanLimiter(key_func=get_remote_address, default_limits=[])


def celery_init_app(app: Flask) -> Celery:
    """Bind a Celery app to the Flask app so every task runs inside an app context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
