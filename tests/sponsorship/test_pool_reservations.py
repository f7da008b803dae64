"""Code pools never oversell: an order holds the codes it needs from the moment it is placed,
so sponsors who come too late are refused at checkout, before any payment; the codes come back
when the order expires, is cancelled or its payment fails, and its issuer draws them."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from accounts.models import Role, User
from bundles.codes.pools import issue_pool_code, stock_for
from bundles.models import PoolCode, PoolCodeStatus
from extensions import db, utcnow
from sponsorship.checkout.cart import add_to_cart, cart_for
from sponsorship.checkout.models import CartLine, Order, OrderStatus, Payment, PaymentStatus
from sponsorship.checkout.services import CartNotReady, CheckoutError, place_order
from sponsorship.payments import services as payments
from sponsorship.payments.gateway_types import (
    IntentStatus,
    PaymentIntentInfo,
)

CODES_LEFT, SPONSORS = 5, 12


@pytest.fixture
def five_codes(app, catalog):
    """The health app's pool, down to its last five codes."""
    keep = select(PoolCode.id).where(PoolCode.offer_id == catalog.app.id).limit(CODES_LEFT)
    db.session.execute(
        update(PoolCode)
        .where(PoolCode.offer_id == catalog.app.id, PoolCode.id.not_in(keep.scalar_subquery()))
        .values(status=PoolCodeStatus.VOID)
    )
    db.session.commit()
    assert stock_for([catalog.app.id])[catalog.app.id].available == CODES_LEFT
    return catalog


def fill_cart(sponsor, chosen, bundle):
    add_to_cart(sponsor, [w.id for w in chosen], bundle_id=bundle.id, months=1)
    db.session.commit()


def held_by(order_id):
    return db.session.scalar(
        select(func.count()).where(
            PoolCode.reserved_order_id == order_id, PoolCode.status == PoolCodeStatus.AVAILABLE
        )
    )


@pytest.mark.slow
def test_twelve_sponsors_ordering_the_last_five_codes_at_once_five_get_them(
    app, five_codes, workers, make_user
):
    sponsors = [make_user(Role.SPONSOR) for _ in range(SPONSORS)]
    for sponsor, worker in zip(sponsors, workers(SPONSORS), strict=True):
        fill_cart(sponsor, [worker], five_codes.sehat)
    sponsor_ids = [sponsor.id for sponsor in sponsors]
    app_offer_id = five_codes.app.id
    db.session.expunge_all()
    placed: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(SPONSORS)

    def checkout(sponsor_id: int) -> None:
        start.wait()
        for _ in range(20):  # a busy database answers "try again", as a sponsor would
            with app.app_context():
                try:
                    order = place_order(db.session.get(User, sponsor_id))
                    db.session.commit()
                    placed.append(order.reference)
                    return
                except (CartNotReady, CheckoutError) as refusal:
                    db.session.rollback()
                    refused.append(str(refusal.message))
                    return
                except OperationalError:
                    db.session.rollback()
                except BaseException as error:
                    db.session.rollback()
                    errors.append(error)
                    return

    threads = [threading.Thread(target=checkout, args=(sid,)) for sid in sponsor_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert (len(placed), len(refused)) == (CODES_LEFT, SPONSORS - CODES_LEFT)
    orders = db.session.scalars(select(Order)).all()
    assert len(orders) == CODES_LEFT
    assert sorted(held_by(order.id) for order in orders) == [1] * CODES_LEFT
    assert stock_for([app_offer_id])[app_offer_id].available == 0
    # Refused before any charge: no payment exists, and their carts are as they were.
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.session.scalar(select(func.count()).select_from(CartLine)) == len(refused)


def test_the_cart_refuses_what_the_pool_can_no_longer_deliver(
    app, five_codes, workers, make_user, client, login_as
):
    first, late = make_user(Role.SPONSOR), make_user(Role.SPONSOR)
    fill_cart(first, workers(CODES_LEFT), five_codes.sehat)
    place_order(first)
    db.session.commit()
    fill_cart(late, workers(1), five_codes.sehat)

    login_as(late)
    answer = client.post("/keranjang/pesan")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/keranjang")
    page = client.get("/keranjang").text
    assert "Hanya tersisa 0 Fita Premium 30 hari" in page
    assert db.session.scalar(select(func.count()).where(Order.sponsor_id == late.id)) == 0


def test_codes_of_an_order_not_paid_in_time_come_back(app, five_codes, workers, make_user):
    first, late = make_user(Role.SPONSOR), make_user(Role.SPONSOR)
    fill_cart(first, workers(CODES_LEFT), five_codes.sehat)
    order = place_order(first)
    db.session.commit()
    fill_cart(late, workers(1), five_codes.sehat)
    with pytest.raises(CartNotReady):
        place_order(late)
    db.session.rollback()

    # Time passes: the order's prices expired and its pay page's grace hour went by.
    db.session.execute(
        update(Order).where(Order.id == order.id).values(expires_at=utcnow() - timedelta(hours=2))
    )
    db.session.execute(
        update(PoolCode)
        .where(PoolCode.reserved_order_id == order.id)
        .values(reserved_until=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    second = place_order(late)
    db.session.commit()
    assert held_by(second.id) == 1


def test_a_failed_payment_gives_the_codes_back(app, five_codes, workers, make_user):
    first, late = make_user(Role.SPONSOR), make_user(Role.SPONSOR)
    fill_cart(first, workers(CODES_LEFT), five_codes.sehat)
    order = place_order(first)
    db.session.commit()
    payment = Payment(order_id=order.id, provider_payment_id="pi_failed", amount_idr=1)
    db.session.add(payment)
    db.session.commit()
    fill_cart(late, workers(1), five_codes.sehat)
    with pytest.raises(CartNotReady):
        place_order(late)
    db.session.rollback()

    canceled = PaymentIntentInfo(
        id="pi_failed",
        client_secret="secret",
        status=IntentStatus.CANCELED,
        amount_idr=order.total_idr,
        order_reference=order.reference,
    )
    payments.apply_intent(order, payment, canceled)
    db.session.commit()

    assert order.status == OrderStatus.CANCELLED and payment.status == PaymentStatus.CANCELLED
    assert held_by(order.id) == 0
    assert held_by(place_order(late).id) == 1


def test_an_order_sent_back_to_the_cart_gives_the_codes_back(app, five_codes, workers, make_user):
    sponsor = make_user(Role.SPONSOR)
    fill_cart(sponsor, workers(2), five_codes.sehat)
    order = place_order(sponsor)
    db.session.commit()
    assert stock_for([five_codes.app.id])[five_codes.app.id].available == CODES_LEFT - 2

    payments.return_to_cart(order, sponsor)
    db.session.commit()
    assert stock_for([five_codes.app.id])[five_codes.app.id].available == CODES_LEFT
    assert cart_for(sponsor) is not None


def test_issuers_draw_the_codes_held_for_their_order_and_no_one_elses(
    app, five_codes, workers, make_user
):
    sponsor = make_user(Role.SPONSOR)
    fill_cart(sponsor, workers(3), five_codes.sehat)
    order = place_order(sponsor)
    order.transition(OrderStatus.PAID)
    db.session.commit()
    held = set(
        db.session.scalars(select(PoolCode.id).where(PoolCode.reserved_order_id == order.id))
    )
    assert len(held) == 3 and all(
        code.reserved_until is None
        for code in db.session.scalars(select(PoolCode).where(PoolCode.id.in_(held)))
    )

    others = [issue_pool_code(five_codes.app), issue_pool_code(five_codes.app)]
    assert None not in others and not {code.id for code in others} & held
    assert issue_pool_code(five_codes.app) is None  # the rest is held for the paid order
    mine = [issue_pool_code(five_codes.app, order_id=order.id) for _ in range(3)]
    assert {code.id for code in mine} == held
