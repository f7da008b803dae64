"""Sponsors that are organisations, and orders placed through the cart page (where the
invoice is decided), for the invoice tests."""

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from accounts.models import Role, User
from accounts.organisations import save_profile
from extensions import db
from sponsorship.checkout.cart import add_to_cart
from sponsorship.checkout.models import Order

LEGAL = {
    "kind": "company",
    "legal_name": "PT Maju Bersama Tbk",
    "address": "Jl. Jend. Sudirman No. 5, Jakarta Selatan 12190",
    "npwp": "01.234.567.8-901.000",
}
NPWP_PRINTED = "01.234.567.8-901.000"


@pytest.fixture
def company(make_user: Callable[..., User]) -> User:
    user = make_user(Role.SPONSOR, display_name="Tim CSR Maju")
    save_profile(user, **LEGAL)
    db.session.commit()
    return user


def place_through_cart(
    client: FlaskClient, sponsor: User, worker_ids: list[int], bundle: Any, **form: str
) -> Order:
    """Fill the sponsor's cart and press "Create the order" (signed in as the sponsor)."""
    add_to_cart(sponsor, worker_ids, bundle_id=bundle.id, months=1)
    db.session.commit()
    response = client.post("/keranjang/pesan", data=form)
    assert response.status_code == 302, response.status_code
    assert "/pesanan/" in response.headers["Location"], response.headers["Location"]
    return db.session.scalars(
        select(Order).where(Order.sponsor_id == sponsor.id).order_by(Order.id.desc())
    ).first()
