"""Fixtures of the worker registry tests: accounts of each kind, valid registration data,
photos and CSV files."""

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from accounts.models import Role, User
from bundles.models import Partner, PartnerKind
from core.identity import normalize_phone
from extensions import db
from messaging.models import Message


def make_nik(
    born: date = date(1990, 5, 12), *, female: bool = True, province: str = "32", serial: int = 1
) -> str:
    day = born.day + (40 if female else 0)
    return f"{province}0101{day:02d}{born:%m%y}{serial:04d}"


@pytest.fixture
def sponsor(make_user: Callable[..., User]) -> User:
    return make_user(Role.SPONSOR)


@pytest.fixture
def worker_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.WORKER, phone_e164="+6281234567890")


@pytest.fixture
def agent(make_partner: Callable[..., Partner]) -> Partner:
    return make_partner(PartnerKind.AGENT, name="Koperasi Tani Makmur")


def registration_form(**overrides: Any) -> dict[str, Any]:
    """A complete, valid registration form as a browser posts it."""
    data: dict[str, Any] = {
        "full_name": "SITI RAHMAWATI",
        "nik": make_nik(),
        "birth_date": "1990-05-12",
        "gender": "female",
        "occupation": "market_trader",
        "province": "32",
        "regency": "Kab. Bogor",
        "story": "Berjualan sayur di Pasar Kranggan sejak subuh.",
        "heirs-0-full_name": "Budi Santoso",
        "heirs-0-relation": "spouse",
        "heirs-0-phone": "0813 1111 2222",
        "heirs-1-full_name": "",
        "heirs-1-relation": "",
        "heirs-1-phone": "",
        "heirs-2-full_name": "",
        "heirs-2-relation": "",
        "heirs-2-phone": "",
        "consent_listing": "y",
        "consent_insurer": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=fmt)
    return out.getvalue()


def last_message_to(phone: str) -> Message | None:
    return db.session.scalar(
        select(Message).where(Message.recipient == phone).order_by(Message.id.desc()).limit(1)
    )


def sign_in_worker(client: Any, phone: str) -> None:
    """Sign in through the real phone + one-time code flow."""
    client.post("/masuk/pekerja", data={"phone": phone})
    message = last_message_to(normalize_phone(phone))
    assert message is not None
    code = re.search(r"\b(\d{6})\b", message.full_body()).group(1)
    response = client.post("/masuk/pekerja/kode", data={"code": code})
    assert response.status_code == 302


CSV_HEADER_ID = [
    "nama_lengkap",
    "nik",
    "no_hp",
    "tanggal_lahir",
    "jenis_kelamin",
    "pekerjaan",
    "provinsi",
    "kabupaten_kota",
    "cerita",
    "nama_ahli_waris",
    "hubungan_ahli_waris",
    "hp_ahli_waris",
    "setuju_ditampilkan",
    "setuju_data_bpjs",
]


def bulk_nik(n: int) -> str:
    """A distinct valid NIK for worker ``n`` (0 … 890,000), a woman born 12 May 1990."""
    regency, serial = divmod(n, 9999)
    return f"32{regency // 60 + 1:02d}{regency % 60 + 1:02d}520590{serial + 1:04d}"


def csv_row(n: int, **overrides: str) -> dict[str, str]:
    row = {
        "nama_lengkap": f"Siti Pekerja {n}",
        "nik": bulk_nik(n),
        "no_hp": f"0857{n:08d}",
        "tanggal_lahir": "12-05-1990",
        "jenis_kelamin": "P",
        "pekerjaan": "Petani",
        "provinsi": "Jawa Barat",
        "kabupaten_kota": "Kab. Garut",
        "cerita": "Menggarap sawah sewaan.",
        "nama_ahli_waris": "Budi",
        "hubungan_ahli_waris": "suami",
        "hp_ahli_waris": "",
        "setuju_ditampilkan": "ya",
        "setuju_data_bpjs": "ya",
    }
    row.update(overrides)
    return row


def csv_bytes(
    rows: list[dict[str, str]],
    *,
    header: list[str] | None = None,
    delimiter: str = ",",
    bom: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    out = io.StringIO()
    columns = header or CSV_HEADER_ID
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def post_multipart(client: Any, path: str, fields: dict[str, Any]) -> Any:
    """POST a form with files, encoded in memory: the test client's own encoder spills
    bodies over 500 KB to a temporary file it never closes (a ResourceWarning)."""
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client: Any, data: bytes, *, filename: str = "pekerja.csv", **form: Any) -> Any:
    fields = {"attest": "y", **form}
    fields["file"] = FileStorage(io.BytesIO(data), filename=filename, content_type="text/csv")
    return post_multipart(client, "/mitra/pendaftaran", fields)


@pytest.fixture
def make_registered_worker(make_worker: Callable[..., Any]) -> Callable[..., Any]:
    """``make_worker`` with the consents a registered worker has: both given (the listing only
    when listed) and confirmed by the worker."""

    def factory(**fields: Any) -> Any:
        agreed = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        fields.setdefault("insurer_consent_at", agreed)
        fields.setdefault("consent_confirmed_at", agreed)
        if fields.get("is_listed", True):
            fields.setdefault("listing_consent_at", agreed)
        return make_worker(**fields)

    return factory
