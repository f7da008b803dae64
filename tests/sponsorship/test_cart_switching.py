"""Choosing another bundle for workers already in the cart switches their bundle (it never
buys the same cover twice), and nothing unpaid is ever called cover."""

from datetime import date

from sqlalchemy import select

from extensions import db
from sponsorship.checkout.cart import add_to_cart, cart_for
from sponsorship.checkout.cart_check import check_cart
from sponsorship.checkout.models import CartLine
from sponsorship.payments import services as payments
from workers.models import WorkerSelection, WorkerSelectionItem

TODAY = date(2026, 3, 10)


def selection_of(sponsor, chosen) -> WorkerSelection:
    selection = WorkerSelection(sponsor_id=sponsor.id, worker_count=len(chosen), filters={})
    db.session.add(selection)
    db.session.flush()
    for n, worker in enumerate(chosen):
        db.session.add(
            WorkerSelectionItem(selection_id=selection.id, worker_id=worker.id, position=n)
        )
    db.session.commit()
    return selection


def cart_bundles(sponsor) -> list[int]:
    return list(
        db.session.scalars(
            select(CartLine.bundle_id).where(CartLine.cart_id == cart_for(sponsor).id)
        )
    )


def test_choosing_combofit_after_sertakan_replaces_it(
    app, client, login_as, sponsor, catalog, workers
):
    chosen = workers(3)
    selection = selection_of(sponsor, chosen)
    login_as(sponsor)
    client.post(
        f"/keranjang/tambah/{selection.id}", data={"bundle": catalog.sertakan.id, "months": 3}
    )
    switched = client.post(
        f"/keranjang/tambah/{selection.id}",
        data={"bundle": catalog.combo.id, "months": 3},
        follow_redirects=True,
    )

    assert cart_bundles(sponsor) == [catalog.combo.id] * 3
    assert "Paket diganti untuk 3 pekerja" in switched.text
    check = check_cart(cart_for(sponsor), sponsor=sponsor, today=TODAY)
    # Each: 3 months of dues at Rp16.800, the app Rp25.000, data Rp20.000, fee Rp2.000.
    assert check.total_idr == 3 * (3 * 16_800 + 25_000 + 20_000 + 2_000)
    assert [plan.first_month for plan in check.plans] == [date(2026, 3, 1)] * 3
    assert check.appended_count == 0
    again = add_to_cart(sponsor, [chosen[0].id], bundle_id=catalog.combo.id, months=6)
    assert again.replaced == 0  # the same bundle again only changes the months


def test_a_bundle_of_another_kind_is_added_next_to_the_first(app, sponsor, catalog, workers):
    worker = workers(1)[0]
    add_to_cart(sponsor, [worker.id], bundle_id=catalog.sertakan.id, months=3)
    added = add_to_cart(sponsor, [worker.id], bundle_id=catalog.sehat.id, months=3)
    assert added.replaced == 0
    assert sorted(cart_bundles(sponsor)) == sorted([catalog.sertakan.id, catalog.sehat.id])


def test_lines_of_an_unpaid_cart_never_count_as_cover(
    app, client, login_as, sponsor, catalog, workers, ordered
):
    chosen = workers(3)
    earlier = ordered(chosen, catalog.sertakan, months=3)
    add_to_cart(sponsor, [w.id for w in chosen], bundle_id=catalog.combo.id, months=1)
    payments.return_to_cart(earlier, sponsor)  # Sertakan comes back next to ComboFit
    db.session.commit()

    check = check_cart(cart_for(sponsor), sponsor=sponsor, today=TODAY)
    assert len(check.plans) == 6
    assert check.appended_count == 0
    login_as(sponsor)
    page = client.get("/keranjang").text
    assert "sudah terlindungi" not in page
    assert "setelah perlindungan sampai" not in page
