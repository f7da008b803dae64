"""Issue 13, item 12: the page where a sponsor picks a bundle and the months for a selection
showed no price. It shows each bundle's price per worker per month and the total for the
selection for every number of months, from the same pricing as the cart (whole rupiah)."""

import re

from flask_babel import force_locale

from bundles.pricing import default_first_month, quote_bundle
from core.dates import jakarta_today
from extensions import db
from i18n import rupiah
from sponsorship.checkout.models import PayerKind
from workers.models import WorkerSelection, WorkerSelectionItem


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


def quote(bundle, months: int, *, transport: bool) -> int:
    return quote_bundle(
        bundle,
        months=months,
        first_month=default_first_month(jakarta_today()),
        payer_kind=PayerKind.PERSON,
        is_transport=transport,
    ).total_idr


def test_each_bundle_shows_its_price_per_worker_per_month_and_the_selection_total(
    app, client, login_as, sponsor, catalog, workers
):
    farmers = workers(2, occupation="farmer", is_listed=True)
    drivers = workers(1, occupation="ojek_online", is_listed=True)
    selection = selection_of(sponsor, farmers + drivers)
    page = login_as(sponsor).get(f"/keranjang/tambah/{selection.id}").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    with app.test_request_context(), force_locale("id"):
        for bundle in (catalog.sertakan, catalog.combo, catalog.sehat):
            month = quote(bundle, 1, transport=False)
            assert f"{rupiah(month)} per pekerja per bulan" in text, bundle.name
            for months in (1, 3, 6, 12):
                total = 2 * quote(bundle, months, transport=False) + quote(
                    bundle, months, transport=True
                )
                assert rupiah(total) in text, (bundle.name, months)
        assert rupiah(25_000 * 3) in text  # Sehat: a one-off app voucher for 3 workers
    assert "Total untuk 3 pekerja" in text
