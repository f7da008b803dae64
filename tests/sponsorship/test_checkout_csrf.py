"""Every checkout form and the card confirmation refuse a request without a CSRF token; the
Stripe webhook, signed instead, is the one exception."""

import pytest

from accounts.models import Role

POSTS = [
    "/keranjang/tambah/1",
    "/keranjang/hapus",
    "/keranjang/kosongkan",
    "/keranjang/pembayar",
    "/keranjang/atasi",
    "/keranjang/pesan",
    "/pesanan/PY-X/kembali-ke-keranjang",
    "/pesanan/PY-X/lindungi-lagi",
    "/pesanan/PY-X/refund",
    "/pesanan/PY-X/bayar/kartu",
]


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.mark.parametrize("role", [Role.SPONSOR, Role.ADMIN])
def test_checkout_posts_need_a_csrf_token(client, login_as, make_user, role):
    login_as(make_user(role))
    for url in POSTS:
        assert client.post(url, data={"x": "1"}).status_code == 400, url
    response = client.post("/pesanan/PY-X/bayar/kartu", json={"setup_intent": "seti_1"})
    assert response.status_code == 400


def test_the_webhook_needs_a_signature_not_a_csrf_token(client):
    response = client.post("/stripe/webhook", data=b"{}", headers={"Stripe-Signature": "t=1"})
    assert response.status_code == 400
    assert response.get_json() == {"received": "invalid"}
