"""A sponsor as a company or a local government: sign-up, the organisation page (legal name,
address, NPWP), and a local government's carts priced at full dues."""

from datetime import date

import pytest
from sqlalchemy import func, select

from accounts.models import Role, SponsorKind, SponsorProfile, User
from accounts.organisations import organisation_of, save_profile
from extensions import db
from sponsorship.checkout.cart import add_to_cart, cart_for
from sponsorship.checkout.cart_check import check_cart
from sponsorship.checkout.models import PayerKind

GOOD = {
    "kind": "company",
    "legal_name": "PT Maju  Bersama Tbk",
    "address": "Jl. Jend. Sudirman No. 5, Jakarta Selatan 12190",
    "npwp": "01.234.567.8-901.000",
}


def profile_of(user: User) -> SponsorProfile | None:
    return db.session.scalar(select(SponsorProfile).where(SponsorProfile.user_id == user.id))


def test_signing_up_as_a_local_government_asks_for_its_legal_details(client):
    response = client.post(
        "/daftar",
        data={
            "name": "Pemkot Bogor",
            "email": "csr@example.com",
            "password": "rahasia-panjang-1",
            "password_confirm": "rahasia-panjang-1",
            "role": "sponsor",
            "sponsor_kind": "government",
            "accept_terms": "y",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/akun/organisasi")
    user = db.session.scalar(select(User).where(User.email == "csr@example.com"))
    profile = profile_of(user)
    assert (profile.kind, profile.legal_name, profile.npwp) == ("government", "Pemkot Bogor", None)
    assert organisation_of(user) is None  # not complete yet: no NPWP
    page = client.get("/akun/organisasi")
    assert "Lengkapi nama resmi, alamat dan NPWP" in page.text


def test_signing_up_as_a_person_keeps_no_profile(client):
    response = client.post(
        "/daftar",
        data={
            "name": "Ibu Sari",
            "email": "sari@example.com",
            "password": "rahasia-panjang-1",
            "password_confirm": "rahasia-panjang-1",
            "role": "sponsor",
            "accept_terms": "y",
        },
    )
    assert response.status_code == 302
    assert not response.headers["Location"].endswith("/akun/organisasi")
    assert db.session.scalar(select(func.count()).select_from(SponsorProfile)) == 0


def test_the_organisation_page_saves_the_npwp_as_digits(client, login_as, make_user):
    sponsor = make_user(Role.SPONSOR)
    login_as(sponsor)
    page = client.get("/akun/organisasi")
    assert page.status_code == 200 and 'name="npwp"' in page.text
    response = client.post("/akun/organisasi", data=GOOD)
    assert response.status_code == 302
    organisation = organisation_of(sponsor)
    assert organisation.legal_name == "PT Maju Bersama Tbk"  # spaces tidied
    assert organisation.npwp == "012345678901000"
    assert organisation.kind == SponsorKind.COMPANY
    again = client.get("/akun/organisasi")
    assert 'value="01.234.567.8-901.000"' in again.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("npwp", "01.234.567.8-901", "NPWP terdiri dari 15 angka"),
        ("npwp", "01.234.567.8-901.ABC", "NPWP hanya berisi angka"),
        ("npwp", "", "Isi NPWP organisasi"),
        ("legal_name", "", "Isi nama resmi organisasi"),
        ("address", "Bogor", "Isi alamat lengkap organisasi"),
    ],
)
def test_a_bad_organisation_form_says_why_and_changes_nothing(
    client, login_as, make_user, field, value, message
):
    sponsor = make_user(Role.SPONSOR)
    login_as(sponsor)
    assert client.post("/akun/organisasi", data=GOOD).status_code == 302
    response = client.post("/akun/organisasi", data={**GOOD, "legal_name": "PT Lain", field: value})
    assert response.status_code == 200
    assert message in response.text
    assert organisation_of(sponsor).legal_name == "PT Maju Bersama Tbk"  # unchanged


def test_the_form_speaks_english_too(client, login_as, make_user):
    login_as(make_user(Role.SPONSOR))
    client.post("/bahasa", data={"lang": "en", "next": "/akun/organisasi"})
    response = client.post("/akun/organisasi", data={**GOOD, "npwp": "1234"})
    assert "An NPWP has 15 digits (01.234.567.8-901.000) or 16 digits; this one has 4." in (
        response.text
    )


def test_a_person_keeps_no_legal_details(app, make_user):
    sponsor = make_user(Role.SPONSOR)
    save_profile(sponsor, **GOOD)
    save_profile(sponsor, kind="person", legal_name="x", address="y", npwp="bad")
    db.session.commit()
    profile = profile_of(sponsor)
    assert (profile.kind, profile.legal_name, profile.npwp) == ("person", None, None)
    assert organisation_of(sponsor) is None


def test_only_sponsors_have_an_organisation_page(client, login_as, make_user):
    assert client.get("/akun/organisasi").status_code == 302  # to sign in
    login_as(make_user(Role.PARTNER))
    assert client.get("/akun/organisasi").status_code == 403


def test_a_local_government_always_pays_full_dues(client, login_as, make_user, catalog, workers):
    """The dues rules know that government payers get no PP 50/2025 discount; an account that
    is a local government is priced as one whatever its cart says."""
    government = make_user(Role.SPONSOR)
    save_profile(government, **{**GOOD, "kind": "government", "legal_name": "Pemkot Bogor"})
    db.session.commit()
    driver = workers(1, occupation="ojek_online")[0]
    add_to_cart(government, [driver.id], bundle_id=catalog.sertakan.id, months=1)
    cart = cart_for(government)
    assert cart.payer_kind == PayerKind.GOVERNMENT  # a new cart starts as what the account is
    cart.payer_kind = PayerKind.PERSON  # even a cart that says otherwise
    db.session.commit()
    check = check_cart(cart, sponsor=government, today=date(2026, 3, 10))
    assert (check.payer_kind, check.total_idr) == (PayerKind.GOVERNMENT, 16_800 + 1_000)
    login_as(government)
    refused = client.post("/keranjang/pembayar", data={"payer_kind": "person"})
    assert refused.status_code == 302
    page = client.get("/keranjang")
    assert "Pemerintah daerah membayar iuran penuh" in page.text


def test_a_company_starts_as_a_company_and_may_still_choose(app, make_user, catalog, workers):
    company = make_user(Role.SPONSOR)
    save_profile(company, **GOOD)
    db.session.commit()
    driver = workers(1, occupation="ojek_online")[0]
    add_to_cart(company, [driver.id], bundle_id=catalog.sertakan.id, months=1)
    cart = cart_for(company)
    assert cart.payer_kind == PayerKind.COMPANY
    check = check_cart(cart, sponsor=company, today=date(2026, 3, 10))
    assert check.total_idr == 8_400 + 1_000  # companies keep the transport discount
