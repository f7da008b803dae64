"""The demo data a newcomer sees after ``make run``."""

from datetime import date

from sqlalchemy import func, select

from accounts.models import Role, User
from bundles.models import Bundle, PoolCode
from core.identity import Gender, check_nik
from demo import DEMO_PASSWORD, seed_demo_command
from extensions import db
from vault import decrypt
from workers.models import Worker


def test_seed_demo_fills_an_empty_database_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(seed_demo_command)
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output
    assert "admin@payung.test" in result.output

    workers = db.session.scalars(select(Worker)).all()
    assert len(workers) == 300
    assert all(w.is_listed and w.listing_consent_at for w in workers)
    assert len({w.province_code for w in workers}) >= 10
    assert len({w.occupation for w in workers}) >= 15
    for worker in workers:
        checked = check_nik(
            decrypt(worker.nik_encrypted),
            birth_date=worker.birth_date,
            gender=Gender(worker.gender),
            today=date(2026, 11, 25),
        )
        assert checked.province_code == worker.province_code
        assert checked.warnings == ()

    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    assert roles == {Role.ADMIN: 1, Role.SPONSOR: 2, Role.PARTNER: 3, Role.WORKER: 1}
    slugs = set(db.session.scalars(select(Bundle.slug)))
    assert slugs == {"sertakan", "combofit"}
    assert db.session.scalar(select(func.count()).select_from(PoolCode)) == 500

    again = runner.invoke(seed_demo_command)
    assert again.exit_code != 0
    assert runner.invoke(seed_demo_command, ["--if-empty"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Worker)) == 300


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(seed_demo_command)
    for email, home in [
        ("admin@payung.test", "/admin/"),
        ("ratna@payung.test", "/sponsor"),
        ("fita@payung.test", "/mitra"),
    ]:
        response = client.post("/masuk", data={"email": email, "password": DEMO_PASSWORD})
        assert response.headers["Location"] == home
        client.post("/keluar")
