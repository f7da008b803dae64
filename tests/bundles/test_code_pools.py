"""Code pools: CSV uploads (all or nothing), encryption at rest, stock, issuing, low-stock mail."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from bundles.codes.pools import CodeRow, issue_pool_code, stock_for, upload_pool_codes
from bundles.models import FulfillmentMethod, OfferBilling, PoolCode, PoolCodeStatus, PoolUpload
from core.dates import jakarta_today
from extensions import db
from messaging.models import Channel, Message
from vault import decrypt, digest

NEXT_YEAR = (jakarta_today() + timedelta(days=365)).isoformat()


@pytest.fixture
def pool_offer(partner_client, make_offer):
    return make_offer(
        partner=partner_client.partner,
        fulfillment_method=FulfillmentMethod.CODE_POOL,
        billing=OfferBilling.MONTHLY,
        premium_days=30,
        low_stock_threshold=3,
    )


def csv_file(text, name="codes.csv"):
    data = text.encode() if isinstance(text, str) else text
    return {"file": (io.BytesIO(data), name)}


def upload(client, offer, text, name="codes.csv"):
    return client.post(
        f"/mitra/penawaran/{offer.id}/kode",
        data=csv_file(text, name),
        content_type="multipart/form-data",
    )


def codes_saved():
    return db.session.scalar(select(func.count()).select_from(PoolCode))


def test_a_partner_uploads_codes_that_are_stored_encrypted(partner_client, pool_offer):
    response = upload(
        partner_client,
        pool_offer,
        f"code,expires_on\nFITA-AAAA-0001,{NEXT_YEAR}\nFITA-AAAA-0002,{NEXT_YEAR}\n",
    )
    assert response.status_code == 302
    codes = db.session.scalars(select(PoolCode).order_by(PoolCode.id)).all()
    assert [decrypt(c.code_encrypted) for c in codes] == ["FITA-AAAA-0001", "FITA-AAAA-0002"]
    assert all("FITA" not in c.code_encrypted for c in codes)
    assert codes[0].code_digest == digest("FITA-AAAA-0001", purpose="pool_code")
    (batch,) = db.session.scalars(select(PoolUpload)).all()
    assert (batch.code_count, batch.filename) == (2, "codes.csv")
    page = partner_client.get(f"/mitra/penawaran/{pool_offer.id}")
    assert "codes.csv" in page.text
    assert "FITA-AAAA-0001" not in page.text


def test_columns_may_come_in_any_order_with_a_bom_and_crlf(partner_client, pool_offer):
    text = f"\ufeffExpires_On,Code\r\n{NEXT_YEAR},ZZ-0001\r\n\r\n{NEXT_YEAR},ZZ-0002\r\n"
    assert upload(partner_client, pool_offer, text).status_code == 302
    assert codes_saved() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "kosong."),
        ("kode,kedaluwarsa\nA-0001,2030-01-01\n", "Baris pertama harus berisi nama kolom"),
        ("code,expires_on\n", "Berkas tidak berisi kode."),
        ("code,expires_on\nGOOD-0001,{y}\nGOOD-0002\n", "Baris 3:"),
        ('code,expires_on\n"GOOD-0001,{y}\n', "Berkas CSV rusak"),
        ('code,expires_on\nGOOD-0001,{y}\n=HYPERLINK("x"),{y}\n', "rumus spreadsheet"),
        ("code,expires_on\n@SUM(A1),{y}\n", "rumus spreadsheet"),
        ("code,expires_on\n-ABCD,{y}\n", "rumus spreadsheet"),
        ("code,expires_on\nKODE PAKAI SPASI,{y}\n", "4 sampai 64 huruf"),
        ("code,expires_on\nABC,{y}\n", "4 sampai 64 huruf"),
        ("code,expires_on\nKODÉ-0001,{y}\n", "4 sampai 64 huruf"),
        ("code,expires_on\nGOOD-0001,31/12/2027\n", "YYYY-MM-DD"),
        ("code,expires_on\nGOOD-0001,2020-01-01\n", "sudah kedaluwarsa"),
        ("code,expires_on\nGOOD-0001,2099-01-01\n", "lebih dari 5 tahun"),
        ("code,expires_on\nDUP-0001,{y}\nOK-0002,{y}\nDUP-0001,{y}\n", "Kode sama dengan baris 2."),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_line_to_fix(
    partner_client, pool_offer, text, message
):
    response = upload(partner_client, pool_offer, text.replace("{y}", NEXT_YEAR))
    assert response.status_code == 422
    assert "Tidak ada yang disimpan" in response.text
    assert message in response.text
    assert codes_saved() == 0
    assert db.session.scalar(select(func.count()).select_from(PoolUpload)) == 0


def test_every_problem_is_counted_and_the_first_twenty_are_listed(partner_client, pool_offer):
    rows = "".join(f"BAD CODE {n},{NEXT_YEAR}\n" for n in range(25))
    response = upload(partner_client, pool_offer, "code,expires_on\n" + rows)
    assert "25 masalah" in response.text
    assert "Baris 21:" in response.text
    assert "Baris 22:" not in response.text
    assert "…dan 5 lainnya." in response.text


def test_non_utf8_and_binary_files_are_refused(partner_client, pool_offer):
    latin1 = f"code,expires_on\nCAFÉ-0001,{NEXT_YEAR}\n".encode("latin-1")
    assert "UTF-8" in upload(partner_client, pool_offer, latin1).text
    assert "bukan berkas teks CSV" in upload(partner_client, pool_offer, b"\x00\x01PK\x03\x04").text
    assert codes_saved() == 0


def test_codes_already_in_any_of_the_partners_pools_are_refused(
    partner_client, pool_offer, make_offer
):
    other_pool = make_offer(
        partner=partner_client.partner, fulfillment_method=FulfillmentMethod.CODE_POOL
    )
    assert (
        upload(partner_client, other_pool, f"code,expires_on\nSAME-0001,{NEXT_YEAR}\n").status_code
        == 302
    )
    response = upload(
        partner_client,
        pool_offer,
        f"code,expires_on\nNEW-0001,{NEXT_YEAR}\nSAME-0001,{NEXT_YEAR}\n",
    )
    assert response.status_code == 422
    assert "Baris 3:" in response.text and "sudah pernah diunggah" in response.text
    assert codes_saved() == 1


def test_another_partners_identical_code_is_not_a_duplicate(pool_offer, partner_client, make_offer):
    foreign = make_offer(fulfillment_method=FulfillmentMethod.CODE_POOL)
    upload_pool_codes(foreign, [CodeRow(1, "SHARED-0001", date(2030, 1, 1))])
    db.session.commit()
    # Refusing it would tell this partner that another partner holds the code.
    assert (
        upload(
            partner_client, pool_offer, f"code,expires_on\nSHARED-0001,{NEXT_YEAR}\n"
        ).status_code
        == 302
    )


class TestLimits:
    @pytest.fixture
    def app_config(self):
        return {"POOL_UPLOAD_MAX_BYTES": 200, "POOL_UPLOAD_MAX_CODES": 3}

    def test_files_over_the_size_limit_are_refused(self, partner_client, pool_offer):
        text = "code,expires_on\n" + "".join(f"LONGCODE-{n:06d},{NEXT_YEAR}\n" for n in range(20))
        response = upload(partner_client, pool_offer, text)
        assert response.status_code == 422
        assert "lebih dari" in response.text
        assert codes_saved() == 0

    def test_files_over_the_row_limit_are_refused(self, partner_client, pool_offer):
        text = "code,expires_on\n" + "".join(f"C-{n:04d},{NEXT_YEAR}\n" for n in range(4))
        response = upload(partner_client, pool_offer, text)
        assert "paling banyak 3 kode" in response.text
        assert codes_saved() == 0


def test_only_code_pool_offers_take_codes_and_only_the_owner_uploads(partner_client, make_offer):
    api_offer = make_offer(
        partner=partner_client.partner, fulfillment_method=FulfillmentMethod.PARTNER_API
    )
    response = upload(partner_client, api_offer, f"code,expires_on\nX-0001,{NEXT_YEAR}\n")
    assert "tidak dikirim dari kumpulan kode" in response.text
    foreign = make_offer(fulfillment_method=FulfillmentMethod.CODE_POOL)
    assert (
        upload(partner_client, foreign, f"code,expires_on\nX-0001,{NEXT_YEAR}\n").status_code == 404
    )
    assert codes_saved() == 0


def test_ten_thousand_codes_upload_in_one_request_with_a_few_bulk_statements(
    partner_client, pool_offer
):
    """One request, and statements by the thousand rows, not one per row (how fast it is:
    bench/pool_upload.py, recorded in bench/README.md)."""
    text = "code,expires_on\n" + "".join(f"BULK-{n:08d},{NEXT_YEAR}\n" for n in range(10_000))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = upload(partner_client, pool_offer, text)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 302
    assert codes_saved() == 10_000
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO POOL_CODES")]
    assert len(inserts) == 5  # 2,000 rows each
    assert len(statements) < 60, f"{len(statements)} statements for one upload"
    stock = stock_for([pool_offer.id])[pool_offer.id]
    assert stock.available == 10_000


def _codes(offer, *rows):
    upload_pool_codes(offer, [CodeRow(n, code, expiry) for n, (code, expiry) in enumerate(rows, 1)])
    db.session.commit()


def test_stock_counts_available_issued_expiring_and_expired(pool_offer):
    today = jakarta_today()
    _codes(
        pool_offer,
        ("SOON-0001", today + timedelta(days=10)),
        ("LATER-0001", today + timedelta(days=200)),
        ("LATER-0002", today + timedelta(days=200)),
    )
    expired = db.session.scalar(
        select(PoolCode).where(PoolCode.expires_on < today + timedelta(days=20))
    )
    first = issue_pool_code(pool_offer)
    assert first.id == expired.id  # the code expiring first goes first
    stock = stock_for([pool_offer.id], today=today + timedelta(days=300))[pool_offer.id]
    assert (stock.available, stock.issued, stock.expired) == (0, 1, 2)
    stock = stock_for([pool_offer.id])[pool_offer.id]
    assert (stock.available, stock.issued, stock.expiring_soon) == (2, 1, 0)


def test_issuing_never_hands_out_a_code_twice_or_an_expired_one(pool_offer):
    today = jakarta_today()
    _codes(
        pool_offer, ("A-0001", today + timedelta(days=50)), ("B-0001", today + timedelta(days=60))
    )
    issued = {issue_pool_code(pool_offer).id, issue_pool_code(pool_offer).id}
    assert len(issued) == 2
    assert issue_pool_code(pool_offer) is None
    assert issue_pool_code(pool_offer, today=today + timedelta(days=100)) is None
    statuses = db.session.scalars(select(PoolCode.status)).all()
    assert statuses == [PoolCodeStatus.ISSUED] * 2


def low_stock_mails():
    return db.session.scalars(
        select(Message).where(Message.purpose == "low_stock", Message.channel == Channel.EMAIL)
    ).all()


def test_the_partner_is_emailed_once_per_crossing_of_the_threshold(pool_offer):
    pool_offer.partner.contact_email = "stok@mitra.example"
    db.session.commit()
    far = jakarta_today() + timedelta(days=300)
    _codes(pool_offer, *[(f"C-{n:04d}", far) for n in range(4)])  # 4 ≥ threshold 3
    assert low_stock_mails() == []

    issue_pool_code(pool_offer)  # 3 left: not below
    db.session.commit()
    assert low_stock_mails() == []
    issue_pool_code(pool_offer)  # 2 left: below, first mail
    db.session.commit()
    issue_pool_code(pool_offer)  # 1 left: still below, no second mail
    db.session.commit()
    (mail,) = low_stock_mails()
    assert mail.recipient == "stok@mitra.example"
    assert "2" in mail.body and "/mitra/penawaran/" in mail.body

    _codes(pool_offer, *[(f"D-{n:04d}", far) for n in range(5)])  # back above: re-armed
    assert pool_offer.low_stock_alerted_at is None
    for _ in range(4):
        issue_pool_code(pool_offer)
        db.session.commit()
    assert len(low_stock_mails()) == 2
