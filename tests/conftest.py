"""Shared fixtures: a fresh app per test on SQLite or PostgreSQL, a client, ``login_as``,
factories, a guard against unplanned network calls, and a SQL statement counter.

Set PAYUNG_DATABASE_URL to a PostgreSQL URL to run the suite there; each run gets its own
schema, so parallel runs on one database do not meet.
"""

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

import i18n
from accounts import services as account_services
from accounts.models import Role, User
from accounts.services import hash_password
from app import create_app
from bundles.models import (
    Bundle,
    BundlePart,
    FulfillmentMethod,
    Offer,
    OfferKind,
    Partner,
    PartnerKind,
    PartnerStatus,
)
from extensions import db
from vault import digest, encrypt
from workers.models import Worker

pytest_plugins = ["tests.sandbox_support", "tests.stripe_support", "tests.checkout_support"]

PG_URL = os.environ.get("PAYUNG_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")
PASSWORD = "correct horse battery"

# --- no network but our own machine -------------------------------------------------------

_real_connect = socket.socket.connect
_LOCAL_PREFIXES = ("127.", "::1", "localhost")


class UnplannedNetworkCall(RuntimeError):
    pass


def _guarded_connect(sock: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(
        _LOCAL_PREFIXES
    ):
        raise UnplannedNetworkCall(f"test tried to reach {host!r}")
    return _real_connect(sock, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    i18n.compile_catalogs()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Long tests (real time, real browsers, real workers) first: with two xdist workers the
    # short ones then fill in around them, instead of one long test running alone at the end.
    items.sort(
        key=lambda item: not (item.get_closest_marker("slow") or item.get_closest_marker("e2e"))
    )


# --- passwords ----------------------------------------------------------------------------

# Argon2id still, with the smallest cost: the suite creates and signs in thousands of users,
# and the production parameters cost a few hundred milliseconds per hash or check.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    monkeypatch.setattr(account_services, "_hasher", CHEAP_HASHER)
    return CHEAP_HASHER


# --- database -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    if not ON_POSTGRES:
        yield None
        return
    schema = f"test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield schema
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


_pg_tables_created = False


def _fresh_tables(on_postgres: bool) -> None:
    global _pg_tables_created
    if not on_postgres:
        db.create_all()
        return
    if not _pg_tables_created:
        db.create_all()
        _pg_tables_created = True
        return
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def make_test_app(tmp_path: Any, pg_schema: str | None, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "ENV_NAME": "testing",
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "FIELD_KEY": "test-field-key",
        "LOOKUP_KEY": "test-lookup-key",
        "RATELIMIT_STORAGE_URI": "memory://",  # one process (production asks for it)
    }
    if ON_POSTGRES:
        config["DATABASE_URL"] = PG_URL
        config["DATABASE_SCHEMA"] = pg_schema
    else:
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'payung-test.db'}"
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change settings: ``@pytest.fixture def app_config()``."""
    return {}


class IsolatedClient(FlaskClient):
    """Runs every request in its own app context, as a real server does: its own ``g`` (so
    Flask-Login sees who is signed in now) and its own database session. Afterwards the
    test's session ends its transaction so it reads what the request committed."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if db.session.registry.has():
            db.session.rollback()
        return response


@pytest.fixture
def app(tmp_path: Any, pg_schema: str | None, app_config: dict[str, Any]) -> Iterator[Flask]:
    flask_app = make_test_app(tmp_path, pg_schema, **app_config)
    flask_app.test_client_class = IsolatedClient
    with flask_app.app_context():
        _fresh_tables(ON_POSTGRES)
        yield flask_app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[[User], FlaskClient]:
    def sign_in(user: User) -> FlaskClient:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    return sign_in


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """``with count_queries() as queries: ...`` then ``len(queries)`` statements ran."""

    @contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counter


# --- factories ----------------------------------------------------------------------------


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 1_000_000))

    def factory(role: Role = Role.SPONSOR, **overrides: Any) -> User:
        n = next(counter)
        fields: dict[str, Any] = {
            "role": role,
            "display_name": f"{role.title()} {n}",
        }
        if role == Role.WORKER:
            fields["phone_e164"] = f"+62813{n:08d}"
        else:
            fields["email"] = f"{role}{n}@example.test"
            fields["password_hash"] = hash_password(PASSWORD)
        fields.update(overrides)
        user = User(**fields)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_worker(app: Flask) -> Callable[..., Worker]:
    counter = iter(range(1, 1_000_000))

    def factory(**overrides: Any) -> Worker:
        n = next(counter)
        nik = overrides.pop("nik", f"3201{n % 90 + 1:02d}120590{n % 9000 + 1:04d}")
        fields: dict[str, Any] = {
            "full_name": f"Siti Pekerja {n}",
            "occupation": "farmer",
            "province_code": "32",
            "regency": "Kab. Bogor",
            "gender": "female",
            "birth_date": date(1990, 5, 12),
            "phone_e164": f"+62857{n:08d}",
            "nik_encrypted": encrypt(nik),
            "nik_digest": digest(nik, purpose="nik"),
            "is_listed": True,
        }
        fields.update(overrides)
        worker = Worker(**fields)
        db.session.add(worker)
        db.session.commit()
        return worker

    return factory


@pytest.fixture
def make_partner(make_user: Callable[..., User]) -> Callable[..., Partner]:
    def factory(kind: PartnerKind = PartnerKind.HEALTH_APP, **overrides: Any) -> Partner:
        owner = overrides.pop("user", None) or make_user(Role.PARTNER)
        fields: dict[str, Any] = {
            "user_id": owner.id,
            "name": f"Mitra {owner.id}",
            "kind": kind,
            "status": PartnerStatus.APPROVED,
        }
        fields.update(overrides)
        partner = Partner(**fields)
        db.session.add(partner)
        db.session.commit()
        return partner

    return factory


@pytest.fixture
def make_offer(make_partner: Callable[..., Partner]) -> Callable[..., Offer]:
    def factory(**overrides: Any) -> Offer:
        partner = overrides.pop("partner", None) or make_partner()
        fields: dict[str, Any] = {
            "partner_id": partner.id,
            "kind": OfferKind.HEALTH_APP,
            "name_id": "Aplikasi sehat 30 hari",
            "name_en": "Health app, 30 days",
            "unit_price_idr": 25_000,
            "fulfillment_method": FulfillmentMethod.CODE_POOL,
        }
        fields.update(overrides)
        offer = Offer(**fields)
        db.session.add(offer)
        db.session.commit()
        return offer

    return factory


@pytest.fixture
def make_bundle(make_offer: Callable[..., Offer]) -> Callable[..., Bundle]:
    counter = iter(range(1, 1_000_000))

    def factory(*, offers: list[Offer] | None = None, **overrides: Any) -> Bundle:
        n = next(counter)
        fields: dict[str, Any] = {"slug": f"paket-{n}", "name": f"Paket {n}", "is_published": True}
        fields.update(overrides)
        bundle = Bundle(**fields)
        for offer in offers if offers is not None else [make_offer()]:
            bundle.parts.append(BundlePart(offer_id=offer.id, quantity=1))
        db.session.add(bundle)
        db.session.commit()
        return bundle

    return factory
