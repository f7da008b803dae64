"""Issue 16, part 5 ("Weight"): pages, stylesheets, scripts and JSON go out compressed (brotli or
gzip, as the browser asks), and the worker's pages stay light on a slow phone link: ``/klaim``
≤ 14 KB cold, every worker page ≤ 30 KB cold and ≤ 10 KB warm. Measured with the same code as
``bench/page_weight.py``. Files that are not text, and streamed downloads, are left alone."""

import csv
import gzip
import io
import json
import re

import brotli
import pytest

from accounts.access import public
from accounts.models import Role
from bench.page_weight import (
    BUDGET_COLD,
    BUDGET_FIRST_VISIT_KLAIM,
    BUDGET_WARM,
    ENCODINGS,
    decode,
    worker_pages,
)
from pages.compression import choose_encoding
from tests.fulfillment.test_claim import build_line, claim, otp_sent_to

KB = 1024


def get(client, url, encoding, headers=None, **kwargs):
    headers = {"Accept-Encoding": encoding, **(headers or {})}
    response = client.get(url, headers=headers, **kwargs)
    response.get_data()
    response.close()
    return response


def stylesheet(client):
    page = client.get("/klaim").text
    return re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)


def test_every_worker_page_is_within_its_budget(app):
    rows = list(worker_pages(app.test_client, build_line(), otp_sent_to))
    assert len(rows) >= 10
    for label, _path, weights in rows:
        for encoding in ENCODINGS:
            weight = weights[encoding]
            assert weight.compressed, (label, encoding)
            assert weight.cold <= BUDGET_COLD, (label, encoding, weight)
            assert weight.warm <= BUDGET_WARM, (label, encoding, weight)
        # Compression is what brings them under: uncompressed, the stylesheet alone is over.
        assert weights["identity"].cold > weights["gzip"].cold * 2, label
    klaim = next(weights for _, path, weights in rows if path == "/klaim")
    for encoding in ENCODINGS:
        assert klaim[encoding].cold <= BUDGET_FIRST_VISIT_KLAIM, (encoding, klaim[encoding])


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_pages_are_compressed_as_asked_and_vary_on_it(client, encoding):
    response = get(client, "/klaim", encoding)
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    html = decode(response.data, encoding).decode()
    assert "<form" in html and "</html>" in html
    assert int(response.headers["Content-Length"]) == len(response.data)
    plain = get(client, "/klaim", "identity")
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert plain.text.startswith("<!doctype html>")


def test_the_browser_preference_is_honoured():
    assert choose_encoding("gzip, deflate, br, zstd") == "br"
    assert choose_encoding("gzip;q=1.0, br;q=0.5") == "gzip"
    assert choose_encoding("br;q=0, gzip") == "gzip"
    assert choose_encoding("identity") is None
    assert choose_encoding("") is None
    assert choose_encoding("*") == "br"
    assert choose_encoding("*;q=0") is None
    assert choose_encoding("deflate") is None


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_static_files_are_compressed_and_keep_their_year_long_cache(client, encoding):
    url = stylesheet(client)
    response = get(client, url, encoding)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "Accept-Ranges" not in response.headers
    with client.application.open_resource("static/css/payung.css") as sheet:
        assert decode(response.data, encoding) == sheet.read()
    # The compressed copy has an ETag of its own, and revalidating it answers 304.
    etag = response.headers["ETag"]
    assert etag.endswith(f'-{encoding}"')
    again = get(client, url, encoding, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # A second request is served from the kept copy, byte for byte.
    assert get(client, url, encoding).data == response.data


def test_a_tiny_answer_is_left_as_it_is(app, client):
    app.add_url_rule("/tiny.json", "tiny", public(lambda: {"ok": True}))
    response = get(client, "/tiny.json", "gzip, br")
    assert response.status_code == 200 and response.json == {"ok": True}
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" in response.headers["Vary"]


def test_a_workers_json_download_is_compressed_and_whole(app, client):
    line = build_line()
    claim(client, line)
    response = get(client, "/saya/data/unduh", "gzip")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(gzip.decompress(response.data))


def test_a_streamed_csv_is_not_buffered_or_compressed(client, login_as, make_user):
    login_as(make_user(Role.SPONSOR))
    response = client.get("/sponsor/ekspor.csv", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.is_streamed
    assert "Content-Encoding" not in response.headers
    text = response.get_data(as_text=True)
    response.close()
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(header) == 11


def test_a_pdf_is_sent_as_it_is(client, login_as, make_user):
    login_as(make_user(Role.SPONSOR))
    response = client.get("/laporan/2026.pdf", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"%PDF")


def test_brotli_round_trips_the_page_exactly(client):
    plain = get(client, "/masuk/pekerja", "identity").data
    squeezed = get(client, "/masuk/pekerja", "br").data
    csrf = re.compile(rb'name="csrf_token"[^>]*>')
    assert csrf.sub(b"", brotli.decompress(squeezed)) == csrf.sub(b"", plain)
    assert len(squeezed) < len(plain) / 2
