"""Flask extensions, created unbound. Everything imports them from here, never from ``app``."""

import time
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from celery import Celery, Task
from flask import Flask, Response, has_request_context
from flask.globals import request_ctx
from flask_babel import Babel
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.exceptions import NoScriptError
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


class LeanSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy, removing the request's session at teardown only when the request made
    one. ``scoped_session.remove()`` looked the session up twice and raised and caught a
    KeyError on every request that never touched the database (8,500 of a minimal page's
    530,000 instructions, issue 16). A session that was used is closed exactly as before."""

    def _teardown_session(self, exc: BaseException | None) -> None:
        if self.session.registry.has():
            self.session.remove()


class LeanLoginManager(LoginManager):
    """Flask-Login, whose after-request hook returns at once when there is nothing to do: no
    remember-me cookie to set or clear (``_remember`` in the session) and no refresh on every
    request configured. It read the session and the config through their proxies on every
    answer (20,000 of a minimal page's 530,000 instructions, issue 16); otherwise unchanged."""

    def _update_remember_cookie(self, response: Response) -> Response:
        context = request_ctx._get_current_object()  # type: ignore[attr-defined]
        if "_remember" not in context.session and not context.app.config.get(
            "REMEMBER_COOKIE_REFRESH_EACH_REQUEST"
        ):
            return response
        return super()._update_remember_cookie(response)  # type: ignore[no-any-return]


db = LeanSQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LeanLoginManager()
babel = Babel()


class LeanCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, asking the method first: a GET, HEAD or OPTIONS is never
    checked, but Flask-WTF looked up the view and built its dotted name for the exemption list
    on every request before finding that out (4 % of a minimal page, issue 16). A POST, PUT,
    PATCH or DELETE is checked exactly as before, exemptions included."""

    def protect(self, apply_exemptions: bool = False) -> None:
        # The request context itself: every attribute read through the ``request`` and
        # ``current_app`` proxies raises and catches an AttributeError inside Python 3.11.
        context = request_ctx._get_current_object()
        if context.request.method not in context.app.config["WTF_CSRF_METHODS"]:
            return
        super().protect(apply_exemptions=apply_exemptions)


csrf = LeanCSRFProtect()

# The counts of the limits a request is about to test, read together (see ReadAheadWindow).
_READ_AHEAD: ContextVar[dict[str, int] | None] = ContextVar("limit_counts", default=None)


class ReadAheadWindow(FixedWindowRateLimiter):
    """The fixed-window strategy on Redis, with a request's round trips made together.

    Flask-Limiter tests a view's limits one at a time, each a GET (a claim POST tests three:
    the address's failures, the phone's SMS per hour and per day), and counts them after the
    answer one at a time, each a script call. ``LeanLimiter`` reads the counts it is about to
    test in one MGET first (``read_counts``; ``test`` answers from them), and counts what is
    due in one pipeline (``hit_together``). The answers are the ones the separate calls
    gave: the same keys, the same comparison, the same script."""

    storage: RedisStorage

    def read_counts(self, keys: Sequence[str]) -> dict[str, int]:
        storage = self.storage
        values = storage.get_connection(True).mget([storage.prefixed_key(k) for k in keys])
        return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        counts = _READ_AHEAD.get()
        if counts is not None:
            count = counts.get(item.key_for(*identifiers))
            if count is not None:
                return count < item.amount - cost + 1  # FixedWindowRateLimiter.test's own
        return super().test(item, *identifiers, cost=cost)

    def hit_together(self, hits: Sequence[tuple[RateLimitItem, Sequence[str], int]]) -> None:
        """``hit`` for each (limit, identifiers, cost), in one round trip. A script Redis does
        not have (flushed, restarted) is loaded by ``hit``, which then makes that count."""
        storage = self.storage
        script = storage.lua_incr_expire
        pipe = storage.get_connection().pipeline(transaction=False)
        for item, identifiers, cost in hits:
            key = storage.prefixed_key(item.key_for(*identifiers))
            pipe.evalsha(script.sha, 1, key, item.get_expiry(), cost)
        errors = []
        for (item, identifiers, cost), result in zip(
            hits, pipe.execute(raise_on_error=False), strict=True
        ):
            if isinstance(result, NoScriptError):
                self.hit(item, *identifiers, cost=cost)  # not counted yet: counted now
            elif isinstance(result, Exception):
                errors.append(result)
        if errors:
            raise errors[0]  # after every other count was made, as one call at a time would


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
        if (
            not in_middleware
            and callable_name
            and self._no_view_limit_for_this_method(callable_name)
        ):
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _no_limits_beyond_the_views(self) -> bool:
        manager = self.limit_manager
        return not (
            manager.application_limits
            or manager.default_limits
            or self._meta_limits
            or self._storage_dead
        )

    def _no_view_limit_for_this_method(self, callable_name: str) -> bool:
        """A view whose every limit is for other methods (the claim page's limits count POSTs;
        its GET resolved and evaluated them all to find none applied: 12 % of the page)."""
        if not self._no_limits_beyond_the_views():
            return False
        current = request_ctx._get_current_object().request
        if self._blueprint_has_limits(current.blueprint):
            return False
        groups = self.limit_manager._decorated_limits.get(callable_name)
        method = current.method.lower()
        return bool(groups) and all(
            group.methods and method not in group.methods for group in groups
        )

    def _nothing_before_the_view(self) -> bool:
        # Written out rather than through the properties and helpers above: this runs on every
        # request (the properties build lists to test them for emptiness; 23,000 of a minimal
        # page's 530,000 instructions, issue 16). The raw groups are non-empty whenever the
        # lists are, and at worst (empty groups) this answers "full pass", never "skip".
        manager = self.limit_manager
        if (
            manager._application_limits
            or manager._default_limits
            or self._meta_limits
            or self._storage_dead
        ):
            return False
        current = request_ctx._get_current_object().request  # not the proxy, as in protect()
        endpoint = current.endpoint or ""
        if manager._endpoint_hints.get(endpoint):
            return False
        return "." not in endpoint or not self._blueprint_has_limits(current.blueprint)

    def _blueprint_has_limits(self, blueprint: str | None) -> bool:
        """Whether ``blueprint`` (the request's, dotted when nested) or a parent has limits."""
        blueprint_limits = self.limit_manager._blueprint_limits
        if blueprint_limits and blueprint:
            return any(part in blueprint_limits for part in blueprint.split("."))
        return False

    # After the answer: a request that no limit looked at (no limiter context was made for it)
    # has nothing to deduct, no limit to report in headers and nothing to release. Flask-Limiter
    # made a context for every request only to find that out.

    def _limits_looked_at(self) -> bool:
        return hasattr(request_ctx._get_current_object(), "_limiter_request_context")

    # Limits on Redis: a request's counts read together, and counted together after it
    # (ReadAheadWindow; the claim POST made 6 round trips to Redis, now 3 with its SMS job).
    # While Redis is down the in-memory fallback counts instead, one by one (``_read_ahead``).

    def init_app(self, app: Flask) -> None:
        # One limiter serves every app this process builds (the tests build hundreds): each
        # starts with its storage taken as alive and its own RATELIMIT_IN_MEMORY_FALLBACK_ENABLED.
        self._storage_dead = self._in_memory_fallback_enabled = False
        self._Limiter__check_backend_count, self._Limiter__last_check_backend = 0, time.time()
        super().init_app(app)
        if type(self._limiter) is FixedWindowRateLimiter and type(self._storage) is RedisStorage:
            self._limiter = ReadAheadWindow(self._storage)

    def _Limiter__evaluate_limits(self, endpoint: str, limits: list[Any]) -> None:
        token = _READ_AHEAD.set(self._counts_read_ahead(endpoint, limits))
        try:
            super()._Limiter__evaluate_limits(endpoint, limits)  # type: ignore[misc]
        finally:
            _READ_AHEAD.reset(token)

    def _counts_read_ahead(self, endpoint: str, limits: list[Any]) -> dict[str, int] | None:
        """The counts of the limits about to be tested, in one MGET; None when there are fewer
        than two, or when the MGET fails (the tests one by one then meet the storage's trouble
        as before)."""
        strategy = self._read_ahead()
        if strategy is None or not limits:
            return None
        keys = self._keys_to_test(endpoint, limits)
        if len(keys) < 2:
            return None
        try:
            return strategy.read_counts(keys)
        except Exception:
            return None

    def _read_ahead(self) -> ReadAheadWindow | None:
        """The Redis strategy, unless limits are off or the in-memory fallback stands in."""
        strategy = self._limiter
        if not isinstance(strategy, ReadAheadWindow) or not self.enabled or self._storage_dead:
            return None
        return strategy

    def _keys_to_test(self, endpoint: str, limits: list[Any]) -> list[str]:
        """The storage keys of the limits Flask-Limiter's evaluation is about to test, not hit
        (those with ``deduct_when``), worked out as it does. A key function that answers
        differently the second time only costs its own GET."""
        method = request_ctx._get_current_object().request.method
        prefix = [self._key_prefix] if self._key_prefix else []
        keys = []
        for lim in limits:
            if not lim.deduct_when or lim.is_exempt or lim.method_exempt:
                continue
            args = [lim.key_func(), lim.scope_for(endpoint, method)]
            if all(args):
                keys.append(lim.limit.key_for(*prefix, *args))
        return keys

    def _Limiter__check_conditional_deductions(self, response: Response) -> None:
        if not self._limits_looked_at():
            return
        strategy = self._read_ahead()
        due = [] if strategy is None else self._deductions_due(response)
        try:
            if strategy is None:
                super()._Limiter__check_conditional_deductions(response)  # type: ignore[misc]
            elif due:
                strategy.hit_together(due)
        except Exception:
            if self._falls_back_to_memory():
                super()._Limiter__check_conditional_deductions(response)  # type: ignore[misc]
            elif not self._swallow_errors:
                raise
            else:
                self.logger.exception("Failed to deduct rate limit. Swallowing error")

    def _deductions_due(self, response: Response) -> list[tuple[RateLimitItem, Any, int]]:
        return [
            (lim.limit, args, lim.deduction_amount)
            for lim, args in self.context.conditional_deductions.items()
            if lim.deduct_when and lim.deduct_when(response)
        ]

    def _falls_back_to_memory(self) -> bool:
        """The storage failed after the request's limits were tested (Redis went away during
        the view): count in memory from now on, as Flask-Limiter does when a test fails."""
        if not self._in_memory_fallback_enabled or self._storage_dead:
            return False
        self.logger.warning("Rate limit storage unreachable - falling back to in-memory storage")
        self._storage_dead = True
        return True

    @property
    def current_limit(self) -> RequestLimit | None:
        return super().current_limit if self._limits_looked_at() else None

    def _Limiter__release_context(self, _: BaseException | None = None) -> None:
        if self._limits_looked_at():
            super()._Limiter__release_context(_)  # type: ignore[misc]

    # X-RateLimit headers (RATELIMIT_HEADERS_ENABLED) on the partner API only, the one place
    # limits are a budget a program spends and paces itself by: a browser's page has no use
    # for them, and each answer with them cost two more round trips to the limits' storage
    # (the reported limit's count and its expiry: a claim POST made 12 instead of 10, issue
    # 16). Flask-Limiter reads this switch after each answer; a 429 page says when to try
    # again in Retry-After either way (core.rate_limits).
    @property
    def _headers_enabled(self) -> bool | None:
        wanted: bool | None = self.__dict__.get("_headers_wanted")
        if not wanted or not has_request_context():
            return wanted
        return self._blueprint_has_limits(request_ctx._get_current_object().request.blueprint)

    @_headers_enabled.setter
    def _headers_enabled(self, wanted: bool | None) -> None:
        self.__dict__["_headers_wanted"] = wanted


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
