"""Email + password sign-up, sign-in and sign-out."""

import re

from argon2 import PasswordHasher
from sqlalchemy import func, select

from accounts import services
from accounts.models import Role, User
from extensions import db
from tests.conftest import PASSWORD


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_sponsor_signs_up_with_an_argon2id_hash_and_lands_on_the_dashboard(client):
    response = client.post(
        "/daftar",
        data={
            "name": "Ibu Ratna",
            "email": "Ratna@Example.com ",
            "password": "kata-sandi-panjang",
            "password_confirm": "kata-sandi-panjang",
            "role": "sponsor",
            "accept_terms": "y",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/sponsor"
    user = db.session.scalar(select(User).where(User.email == "ratna@example.com"))
    assert user.role == Role.SPONSOR
    assert user.password_hash.startswith("$argon2id$")
    assert "kata-sandi-panjang" not in user.password_hash
    assert client.get("/sponsor").status_code == 200


def test_sign_up_refuses_a_taken_email_and_changes_nothing(client, make_user):
    existing = make_user(Role.SPONSOR, email="taken@example.com")
    before = user_count()
    response = client.post(
        "/daftar",
        data={
            "name": "Someone",
            "email": "TAKEN@example.com",
            "password": "kata-sandi-panjang",
            "password_confirm": "kata-sandi-panjang",
            "role": "partner",
            "accept_terms": "y",
        },
    )
    assert response.status_code == 200
    assert "Email ini sudah terdaftar" in response.text
    assert user_count() == before
    assert db.session.get(User, existing.id).role == Role.SPONSOR


def test_sign_up_cannot_choose_the_admin_or_worker_role(client):
    for role in ("admin", "worker"):
        response = client.post(
            "/daftar",
            data={
                "name": "Mallory",
                "email": f"{role}@example.com",
                "password": "kata-sandi-panjang",
                "password_confirm": "kata-sandi-panjang",
                "role": role,
                "accept_terms": "y",
            },
        )
        assert response.status_code == 200
    assert user_count() == 0


def test_sign_up_refuses_short_and_mismatched_passwords(client):
    response = client.post(
        "/daftar",
        data={
            "name": "Budi",
            "email": "budi@example.com",
            "password": "pendek",
            "password_confirm": "lain",
            "role": "sponsor",
            "accept_terms": "y",
        },
    )
    assert "Minimal 10 karakter" in response.text or "10" in response.text
    assert "Kata sandi tidak sama" in response.text
    assert user_count() == 0


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    user = make_user(Role.SPONSOR)
    wrong_password = client.post("/masuk", data={"email": user.email, "password": "nope"})
    unknown_email = client.post("/masuk", data={"email": "who@example.test", "password": "x"})
    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert "Email atau kata sandi salah." in response.text
    assert client.get("/sponsor").status_code == 302


def test_sign_in_follows_next_only_to_our_own_paths(client, make_user):
    user = make_user(Role.SPONSOR)
    form = {"email": user.email, "password": PASSWORD}
    response = client.post("/masuk", data={**form, "next": "/paket"})
    assert response.headers["Location"] == "/paket"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        client.post("/keluar")
        response = client.post("/masuk", data={**form, "next": evil})
        assert response.headers["Location"] == "/sponsor", evil


def test_each_role_lands_on_its_own_home(client, make_user):
    homes = {Role.SPONSOR: "/sponsor", Role.PARTNER: "/mitra", Role.ADMIN: "/admin/"}
    for role, home in homes.items():
        user = make_user(role)
        response = client.post("/masuk", data={"email": user.email, "password": PASSWORD})
        assert response.headers["Location"] == home
        assert client.get(home).status_code == 200
        client.post("/keluar")


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, client, make_user):
    user = make_user(Role.SPONSOR)
    client.post("/masuk", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    stolen = client.get_cookie("payung_session").value
    assert client.get("/sponsor").status_code == 200

    client.post("/keluar")
    assert client.get("/sponsor").status_code == 302

    thief = app.test_client()
    thief.set_cookie("payung_session", stolen)
    response = thief.get("/sponsor")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/masuk")


def test_disabled_accounts_cannot_sign_in(client, make_user):
    user = make_user(Role.SPONSOR, is_disabled=True)
    response = client.post("/masuk", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/sponsor").status_code == 302


def test_password_field_is_never_echoed_back(client, make_user):
    user = make_user(Role.SPONSOR)
    response = client.post("/masuk", data={"email": user.email, "password": "s3cret-typo"})
    assert not re.search(r"s3cret-typo", response.text)


def test_a_hash_weaker_than_the_current_parameters_is_upgraded_at_sign_in(
    client, make_user, monkeypatch
):
    user = make_user(Role.SPONSOR)  # hashed with the suite's cheap parameters
    weak = user.password_hash
    monkeypatch.setattr(services, "_hasher", PasswordHasher())  # production parameters
    assert (
        client.post("/masuk", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )
    db.session.expire_all()
    upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != weak
    assert not PasswordHasher().check_needs_rehash(upgraded)
