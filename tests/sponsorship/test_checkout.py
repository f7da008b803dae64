"""Cart and order: which months each worker gets, what stops an order, the breakdown per
worker and part, and orders for a thousand workers in a fixed number of statements."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from bundles.models import PoolCode
from extensions import db, utcnow
from sponsorship.checkout.cart import CartError, add_to_cart, cart_for
from sponsorship.checkout.cart_check import check_cart, first_month_for
from sponsorship.checkout.cart_issues import IssueKind
from sponsorship.checkout.models import (
    CartLine,
    Order,
    OrderLine,
    OrderLinePart,
    OrderStatus,
    PayerKind,
)
from sponsorship.checkout.services import CartNotReady, CheckoutError, place_order, resolve_issue
from tests.fulfillment.support import add_pool_codes
from workers.models import Worker, WorkerSelection, WorkerSelectionItem


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def put_in_cart(sponsor, chosen, bundle, months=1):
    add_to_cart(sponsor, [w.id for w in chosen], bundle_id=bundle.id, months=months)
    db.session.commit()
    return cart_for(sponsor)


# --- the months a line buys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("covered_until", "today", "expected"),
    [
        (None, date(2026, 3, 10), date(2026, 3, 1)),  # before the 15th: this month
        (None, date(2026, 4, 16), date(2026, 5, 1)),  # after the due date: next month
        (None, date(2026, 3, 16), date(2026, 3, 1)),  # the 15th is a Sunday: due Monday 16th
        (None, date(2026, 3, 17), date(2026, 4, 1)),
        (date(2026, 6, 30), date(2026, 3, 10), date(2026, 7, 1)),  # covered: appended
        (date(2026, 2, 28), date(2026, 3, 20), date(2026, 4, 1)),  # lapsed: no arrears sold
    ],
)
def test_first_month_follows_cover_and_the_due_date(covered_until, today, expected):
    assert first_month_for(covered_until, today) == expected


def test_a_covered_worker_gets_the_new_months_after_their_cover(app, sponsor, catalog, workers):
    covered, uncovered = workers(2)
    covered.covered_until = date(2026, 8, 31)
    db.session.commit()
    cart = put_in_cart(sponsor, [covered, uncovered], catalog.sertakan, months=3)
    check = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    plans = {plan.worker_id: plan for plan in check.plans}
    assert plans[covered.id].first_month == date(2026, 9, 1)
    assert plans[covered.id].previous_covered_until == date(2026, 8, 31)
    assert plans[uncovered.id].first_month == date(2026, 3, 1)
    assert check.appended_count == 1


def test_paid_but_not_yet_delivered_months_count_as_cover(
    app, sponsor, catalog, workers, ordered, make_user
):
    worker = workers(1)[0]
    first = ordered([worker], catalog.sertakan, months=3, today=date(2026, 3, 10))
    first.transition(OrderStatus.PAID)
    db.session.commit()
    cart = put_in_cart(sponsor, [worker], catalog.sertakan, months=1)
    plan = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10)).plans[0]
    assert plan.first_month == date(2026, 6, 1)


# --- prices -----------------------------------------------------------------------------------


def test_government_payers_get_no_pp_50_discount(app, sponsor, catalog, workers):
    driver = workers(1, occupation="ojek_online")[0]
    cart = put_in_cart(sponsor, [driver], catalog.sertakan, months=1)
    person = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    cart.payer_kind = PayerKind.GOVERNMENT
    government = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    # Rp16.800 halved for a transport worker, plus the Rp1.000 platform fee.
    assert person.total_idr == 8_400 + 1_000
    assert government.total_idr == 16_800 + 1_000


def test_the_order_keeps_a_breakdown_per_worker_and_part(app, sponsor, catalog, workers, ordered):
    chosen = workers(2)
    order = ordered(chosen, catalog.combo, months=3, today=date(2026, 3, 10))
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert {line.worker_id for line in lines} == {w.id for w in chosen}
    for line in lines:
        amounts = {part.offer_id: part.amount_idr for part in line.parts}
        assert amounts == {
            catalog.dues.id: 3 * 16_800,
            catalog.app.id: 25_000,
            catalog.data.id: 20_000,
        }
        assert line.total_idr == sum(amounts.values()) + 2_000
        dues = next(p for p in line.parts if p.offer_id == catalog.dues.id)
        assert [m["month"] for m in dues.price_snapshot["months"]] == [
            "2026-03-01",
            "2026-04-01",
            "2026-05-01",
        ]
    assert order.total_idr == sum(line.total_idr for line in lines)
    assert order.worker_count == 2
    assert order.status == OrderStatus.AWAITING_PAYMENT
    assert count(CartLine) == 0  # the cart is empty once ordered


# --- what stops an order ------------------------------------------------------------------------


def test_telkomsel_only_part_for_another_network_is_flagged_and_stops_the_order(
    app, sponsor, catalog, workers
):
    other = workers(1, telkomsel=False)[0]
    cart = put_in_cart(sponsor, [other], catalog.combo)
    check = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    [issue] = check.issues
    assert issue.kind == IssueKind.OPERATOR
    assert issue.offer_id == catalog.data.id
    assert catalog.sertakan.id in {b.id for b in issue.alternatives}
    with pytest.raises(CartNotReady):
        place_order(sponsor, today=date(2026, 3, 10))
    db.session.rollback()
    assert count(Order) == 0
    assert count(CartLine) == 1


def test_dropping_the_telkomsel_part_prices_the_rest(app, sponsor, catalog, workers):
    other = workers(1, telkomsel=False)[0]
    cart = put_in_cart(sponsor, [other], catalog.combo)
    resolve_issue(
        cart,
        sponsor=sponsor,
        today=date(2026, 3, 10),
        kind=IssueKind.OPERATOR,
        bundle_id=catalog.combo.id,
        offer_id=catalog.data.id,
        action="drop",
    )
    db.session.commit()
    order = place_order(sponsor, today=date(2026, 3, 10))
    [line] = order.lines
    assert {part.offer_id for part in line.parts} == {catalog.dues.id, catalog.app.id}
    assert line.total_idr == 16_800 + 25_000 + 2_000


def test_replacing_the_bundle_for_flagged_workers(app, sponsor, catalog, workers, client):
    other = workers(1, telkomsel=False)[0]
    put_in_cart(sponsor, [other], catalog.combo)
    client.application.config["RATELIMIT_ENABLED"] = False
    login = client
    with login.session_transaction() as session:
        session["_user_id"] = sponsor.get_id()
    response = client.post(
        "/keranjang/atasi",
        data={
            "kind": "operator",
            "bundle_id": catalog.combo.id,
            "offer_id": catalog.data.id,
            "action": "replace",
            "replacement": catalog.sertakan.id,
        },
    )
    assert response.status_code == 302
    line = db.session.scalars(select(CartLine)).one()
    assert line.bundle_id == catalog.sertakan.id


def test_a_replacement_outside_the_offered_bundles_changes_nothing(app, sponsor, catalog, workers):
    other = workers(1, telkomsel=False)[0]
    cart = put_in_cart(sponsor, [other], catalog.combo)

    with pytest.raises(CartError):
        resolve_issue(
            cart,
            sponsor=sponsor,
            today=date(2026, 3, 10),
            kind=IssueKind.OPERATOR,
            bundle_id=catalog.combo.id,
            offer_id=catalog.data.id,
            action="replace",
            replacement=catalog.combo.id,
        )
    db.session.rollback()
    assert db.session.scalars(select(CartLine)).one().bundle_id == catalog.combo.id


def test_stock_must_suffice(app, sponsor, catalog, workers, make_offer):
    db.session.execute(PoolCode.__table__.delete().where(PoolCode.offer_id == catalog.app.id))
    db.session.commit()

    add_pool_codes(catalog.app, 2)
    cart = put_in_cart(sponsor, workers(3), catalog.sehat)
    check = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    [issue] = check.issues
    assert issue.kind == IssueKind.STOCK
    with app.test_request_context():
        assert "tersisa 2" in str(issue.message) and "memerlukan 3" in str(issue.message)
    with pytest.raises(CartNotReady):
        place_order(sponsor, today=date(2026, 3, 10))


def test_workers_who_withdrew_consent_are_flagged(app, sponsor, catalog, workers):
    leaving, staying = workers(2)
    cart = put_in_cart(sponsor, [leaving, staying], catalog.sertakan)
    leaving.is_listed = False
    db.session.commit()
    check = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    [issue] = check.issues
    assert issue.kind == IssueKind.UNAVAILABLE_WORKERS
    resolve_issue(
        cart,
        sponsor=sponsor,
        today=date(2026, 3, 10),
        kind=IssueKind.UNAVAILABLE_WORKERS,
        bundle_id=None,
        offer_id=None,
        action="remove",
    )
    db.session.commit()
    order = place_order(sponsor, today=date(2026, 3, 10))
    assert [line.worker_id for line in order.lines] == [staying.id]


def test_a_worker_in_another_unpaid_order_is_a_warning(app, sponsor, catalog, workers, ordered):
    worker = workers(1)[0]
    first = ordered([worker], catalog.sertakan)
    cart = put_in_cart(sponsor, [worker], catalog.sertakan)
    check = check_cart(cart, sponsor=sponsor, today=date(2026, 3, 10))
    assert check.is_ready
    [warning] = check.warnings
    assert warning.reference == first.reference


def test_an_empty_cart_cannot_be_ordered(app, sponsor):
    with pytest.raises(CheckoutError):
        place_order(sponsor)


# --- pages --------------------------------------------------------------------------------------


def make_selection(sponsor, chosen) -> WorkerSelection:
    selection = WorkerSelection(sponsor_id=sponsor.id, worker_count=len(chosen), filters={})
    db.session.add(selection)
    db.session.flush()
    for n, worker in enumerate(chosen):
        db.session.add(
            WorkerSelectionItem(selection_id=selection.id, worker_id=worker.id, position=n)
        )
    db.session.commit()
    return selection


def test_a_selection_goes_to_the_cart_and_becomes_an_order(
    app, client, login_as, sponsor, catalog, workers
):
    chosen = workers(3)
    selection = make_selection(sponsor, chosen)
    login_as(sponsor)
    form = client.get(f"/keranjang/tambah/{selection.id}")
    assert form.status_code == 200
    assert "ComboFit" in form.text
    added = client.post(
        f"/keranjang/tambah/{selection.id}", data={"bundle": catalog.sertakan.id, "months": 3}
    )
    assert added.status_code == 302
    page = client.get("/keranjang")
    assert page.status_code == 200
    assert "Sertakan" in page.text
    for worker in chosen:
        assert worker.full_name not in page.text  # only first name and initial
        assert worker.phone_e164 not in page.text
    placed = client.post("/keranjang/pesan")
    order = db.session.scalars(select(Order)).one()
    assert placed.headers["Location"] == f"/pesanan/{order.reference}"
    shown = client.get(placed.headers["Location"])
    assert order.reference in shown.text
    assert "Sertakan" in shown.text


def test_bad_add_to_cart_input_changes_nothing(app, client, login_as, sponsor, catalog, workers):
    selection = make_selection(sponsor, workers(2))
    login_as(sponsor)
    for data in (
        {"bundle": catalog.sertakan.id, "months": 2},
        {"bundle": 999_999, "months": 3},
        {"months": 3},
    ):
        response = client.post(f"/keranjang/tambah/{selection.id}", data=data)
        assert response.status_code == 200
        assert "alert-error" in response.text or "error-message" in response.text
    assert count(CartLine) == 0


def test_another_sponsors_selection_and_order_are_not_found(
    app, client, login_as, make_user, sponsor, catalog, workers, ordered
):
    selection = make_selection(sponsor, workers(1))
    order = ordered(workers(1), catalog.sertakan)
    login_as(make_user(Role.SPONSOR))
    assert client.get(f"/keranjang/tambah/{selection.id}").status_code == 404
    assert client.get(f"/pesanan/{order.reference}").status_code == 404
    assert client.get(f"/pesanan/{order.reference}/bayar").status_code == 404


def test_pages_cost_the_same_statements_for_ten_or_three_hundred_workers(
    app, client, login_as, sponsor, catalog, workers, count_queries
):
    login_as(sponsor)
    put_in_cart(sponsor, workers(1), catalog.combo, months=1)
    client.get("/keranjang")  # seeds the dues tables once
    costs = []
    for n in (10, 300):
        db.session.execute(CartLine.__table__.delete())
        db.session.commit()
        put_in_cart(sponsor, workers(n), catalog.combo, months=1)
        with count_queries() as cart_queries:
            assert client.get("/keranjang").status_code == 200
        order = place_order(sponsor, today=date(2026, 3, 10))
        db.session.commit()
        with count_queries() as order_queries:
            assert client.get(f"/pesanan/{order.reference}").status_code == 200
        costs.append((len(cart_queries), len(order_queries)))
    assert costs[0] == costs[1], costs


def test_a_thousand_workers_are_ordered_with_bulk_inserts(
    app, sponsor, catalog, workers, count_queries
):
    now = utcnow()
    db.session.execute(
        Worker.__table__.insert(),
        [
            {
                "full_name": f"Pekerja {n}",
                "occupation": "farmer",
                "province_code": "32",
                "regency": "Kab. Bogor",
                "gender": "male",
                "birth_date": date(1985, 1, 1),
                "phone_e164": f"+62812{n:08d}",
                "is_listed": True,
                "insurer_consent_at": now,
                "listing_consent_at": now,
                "needs_cover_from": date(2026, 1, 1),
                "created_at": now,
                "updated_at": now,
            }
            for n in range(1_000)
        ],
    )
    db.session.commit()
    ids = list(db.session.scalars(select(Worker.id)))

    add_pool_codes(catalog.app, 700)  # one more health-app voucher per worker
    with count_queries() as queries:
        add_to_cart(sponsor, ids, bundle_id=catalog.combo.id, months=3)
        order = place_order(sponsor, today=date(2026, 3, 10))
        db.session.commit()
    assert order.worker_count == 1_000
    assert count(OrderLine) == 1_000
    assert count(OrderLinePart) == 3_000
    assert len(queries) < 60, len(queries)


def test_an_expired_order_goes_back_to_the_cart(
    app, client, login_as, sponsor, catalog, workers, ordered
):
    chosen = workers(2)
    order = ordered(chosen, catalog.sertakan, months=3)
    order.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login_as(sponsor)
    page = client.get(f"/pesanan/{order.reference}")
    assert "kedaluwarsa" in page.text  # the prices expired
    paying = client.get(f"/pesanan/{order.reference}/bayar")
    assert paying.status_code == 302  # the prices expired: no card form
    back = client.post(f"/pesanan/{order.reference}/kembali-ke-keranjang")
    assert back.headers["Location"] == "/keranjang"
    db.session.refresh(order)
    assert order.status == OrderStatus.CANCELLED
    assert {line.worker_id for line in db.session.scalars(select(CartLine))} == {
        w.id for w in chosen
    }
