"""Issue 13, item 12: the receipt PDF printed the months column cut ("Des 2026 – Fe…"); every
period, worker and bundle name prints in full, wrapped when a cell is too narrow."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

from flask_babel import force_locale

from sponsorship.checkout.models import PayerKind
from sponsorship.payments.receipt_pdf import receipt_pdf
from sponsorship.payments.receipts import Receipt, ReceiptLine, ReceiptPart
from tests.pdf_support import pdf_text


def receipt(bundle_name: str = "ComboFit Jamsostek") -> Receipt:
    order = SimpleNamespace(
        reference="PY-TEST-0001",
        paid_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
        worker_count=2,
        total_idr=200_000,
        payer_kind=PayerKind.PERSON,
    )
    sponsor = SimpleNamespace(display_name="PT Peduli Pekerja", email="csr@example.test")
    lines = [
        ReceiptLine(
            worker_id=12345,
            worker_name=name,
            bundle_name=bundle_name,
            months=months,
            first_month=first,
            platform_fee_idr=2_000,
            total_idr=100_000,
            parts=[ReceiptPart(1, "Iuran BPJS JKK+JKM", "BPJS dues", 1, 98_000)],
        )
        for name, first, months in [
            ("Sri R.", date(2026, 12, 1), 3),
            ("Bartholomeus Christoffel Wijayakusuma S.", date(2026, 9, 1), 12),
        ]
    ]
    return Receipt(order=order, sponsor=sponsor, lines=lines, refunds=[])


def test_every_period_prints_in_full(app, tmp_path):
    app.config["RECEIPT_FONT_DIR"] = str(tmp_path)  # the core font: its text can be read back
    with app.test_request_context(), force_locale("id"):
        text = pdf_text(receipt_pdf(receipt("Paket Perlindungan Lengkap Nelayan Pesisir Utara")))
    assert "Des 2026 - Feb 2027" in text
    assert "Sep 2026 - Agu 2027" in text
    assert "..." not in text  # nothing is cut
    for word in ("Bartholomeus", "Wijayakusuma", "Paket Perlindungan", "Pesisir Utara"):
        assert word in text


def test_the_receipt_with_dejavu_still_draws(app):
    with app.test_request_context(), force_locale("id"):
        data = receipt_pdf(receipt())
    assert data.startswith(b"%PDF") and b"/FontFile2" in data
