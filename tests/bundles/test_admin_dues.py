"""Admin pages for the dues data: every change adds history, bad input changes nothing."""

from datetime import date

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from bundles.dues.models import DuesDiscountRule, DuesIncomeBand, DuesRateVersion
from extensions import db


@pytest.fixture
def admin(client, login_as, make_user, dues_tables):
    login_as(make_user(Role.ADMIN))
    return client


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_page_lists_the_seeded_rates_bands_and_discount(admin):
    page = admin.get("/admin/iuran/").text
    assert "Rp6.800" in page and "1.00 %" in page and "2.00 %" in page
    assert "Rp20.700.000" in page and "Rp207.000" in page
    assert "PP 50/2025" in page


def test_new_rates_are_added_and_old_ones_withdrawn_but_kept(admin):
    response = admin.post(
        "/admin/iuran/tarif",
        data={
            "rate-effective_from": "2027-07",
            "rate-jkk_rate_bp": "150",
            "rate-jkm_flat_idr": "8000",
            "rate-jht_rate_bp": "200",
            "rate-note": "PP baru",
        },
    )
    assert response.status_code == 302
    new = db.session.scalar(select(DuesRateVersion).where(DuesRateVersion.note == "PP baru"))
    assert new.effective_from == date(2027, 7, 1)
    admin.post(f"/admin/iuran/tarif/{new.id}/tarik")
    db.session.refresh(new)
    assert new.withdrawn_at is not None
    assert count(DuesRateVersion) == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"rate-effective_from": "2015-07"},  # rates already start that month
        {"rate-effective_from": "Juli"},
        {"rate-jkk_rate_bp": "-1"},
        {"rate-jkm_flat_idr": "6800.5"},
        {"rate-jht_rate_bp": ""},
    ],
)
def test_bad_rates_are_refused_and_nothing_changes(admin, changes):
    data = {
        "rate-effective_from": "2027-07",
        "rate-jkk_rate_bp": "100",
        "rate-jkm_flat_idr": "6800",
        "rate-jht_rate_bp": "200",
    } | changes
    assert admin.post("/admin/iuran/tarif", data=data).status_code == 422
    assert count(DuesRateVersion) == 1


def test_the_last_rates_in_force_cannot_be_withdrawn(admin):
    (only,) = db.session.scalars(select(DuesRateVersion)).all()
    page = admin.post(f"/admin/iuran/tarif/{only.id}/tarik", follow_redirects=True)
    assert "tanpa tarif" in page.text
    db.session.refresh(only)
    assert only.withdrawn_at is None


def test_bands_are_added_and_retired_from_a_month(admin):
    assert (
        admin.post(
            "/admin/iuran/tingkat",
            data={"band-amount_idr": "5250000", "band-effective_from": "2027-01"},
        ).status_code
        == 302
    )
    duplicate = admin.post(
        "/admin/iuran/tingkat",
        data={"band-amount_idr": "5250000", "band-effective_from": "2027-02"},
    )
    assert duplicate.status_code == 422
    band = db.session.scalar(select(DuesIncomeBand).where(DuesIncomeBand.amount_idr == 5_250_000))
    admin.post(f"/admin/iuran/tingkat/{band.id}/pensiun", data={"retire-retired_from": "2026-06"})
    db.session.refresh(band)
    assert band.retired_from is None  # before it starts: refused
    admin.post(f"/admin/iuran/tingkat/{band.id}/pensiun", data={"retire-retired_from": "2028-01"})
    db.session.refresh(band)
    assert band.retired_from == date(2028, 1, 1)
    assert band.in_force(date(2027, 12, 1)) and not band.in_force(date(2028, 1, 1))


def test_discounts_are_checked_added_and_withdrawn(admin):
    data = {
        "discount-name": "Perda Sejahtera",
        "discount-percent": "30",
        "discount-programmes": ["JKK", "JKM"],
        "discount-first_month": "2027-01",
        "discount-last_month": "2027-06",
        "discount-excludes_government_payers": "y",
    }
    inverted = admin.post("/admin/iuran/diskon", data=data | {"discount-last_month": "2026-06"})
    assert inverted.status_code == 422
    assert "tidak boleh sebelum bulan pertama" in inverted.text
    assert (
        admin.post("/admin/iuran/diskon", data=data | {"discount-programmes": []}).status_code
        == 422
    )
    assert (
        admin.post("/admin/iuran/diskon", data=data | {"discount-percent": "150"}).status_code
        == 422
    )
    assert count(DuesDiscountRule) == 1
    assert admin.post("/admin/iuran/diskon", data=data).status_code == 302
    rule = db.session.scalar(
        select(DuesDiscountRule).where(DuesDiscountRule.name == "Perda Sejahtera")
    )
    assert (rule.percent, rule.programmes, rule.transport_only) == (30, "JKK,JKM", False)
    admin.post(f"/admin/iuran/diskon/{rule.id}/tarik")
    db.session.refresh(rule)
    assert rule.withdrawn_at is not None


def test_only_admins_edit_dues(client, login_as, make_user, dues_tables):
    for role in (Role.PARTNER, Role.SPONSOR):
        login_as(make_user(role))
        assert client.get("/admin/iuran/").status_code == 403
        assert (
            client.post("/admin/iuran/tarif", data={"rate-effective_from": "2027-07"}).status_code
            == 403
        )
    assert count(DuesRateVersion) == 1
