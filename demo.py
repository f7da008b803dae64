"""Demo data for a fresh installation: ``flask seed-demo`` (run by ``make run`` when the
database is empty). Deterministic, so every newcomer sees the same site.

ComboFit's real price, quota and duration are not public: its numbers here are examples
and the bundle says so on its page.
"""

import random
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from accounts.models import Role, User
from accounts.organisations import save_profile
from accounts.services import hash_password
from bundles.dues.data import ensure_default_dues_data
from bundles.models import (
    Bundle,
    BundlePart,
    Offer,
    OfferBilling,
    Partner,
    PartnerKind,
    PartnerStatus,
)
from bundles.seed import add_pool_codes, combofit_bundle, combofit_offers
from core.identity import Gender, Occupation
from extensions import db
from vault import digest, encrypt
from workers.models import Worker
from workers.search import index_workers

DEMO_PASSWORD = "payung-demo-2026"  # noqa: S105 (printed for newcomers on purpose)
DEMO_WORKERS = 300
DEMO_POOL_CODES = 500
FIRST_WORKER_PHONE = "+6281200000001"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

FEMALE_NAMES = [
    "Siti", "Sri", "Dewi", "Wulan", "Rina", "Yuni", "Ratna", "Nur", "Lestari", "Ani",
    "Fitri", "Ayu", "Kartika", "Ning", "Ida", "Made Ayu", "Ni Luh", "Maria", "Putri", "Eka",
]  # fmt: skip
MALE_NAMES = [
    "Budi", "Agus", "Joko", "Slamet", "Bambang", "Eko", "Andi", "Hendra", "Rudi", "Dedi",
    "Yusuf", "Ahmad", "Wayan", "Ketut", "Rahmat", "Teguh", "Iwan", "Asep", "Ucok", "Daeng",
]  # fmt: skip
FAMILY_NAMES = [
    "Santoso", "Wijaya", "Hidayat", "Saputra", "Lestari", "Nugroho", "Siregar", "Nasution",
    "Pratama", "Kurniawan", "Rahayu", "Setiawan", "Harahap", "Simanjuntak", "Sulistyo",
    "Maulana", "Rosmawati", "Wibowo", "Anggraini", "Purba",
]  # fmt: skip
# A few regencies per province for demo addresses (province code → (regency code, name)).
REGENCIES = {
    "11": [("06", "Kab. Aceh Besar"), ("71", "Kota Banda Aceh")],
    "12": [("07", "Kab. Deli Serdang"), ("71", "Kota Medan")],
    "13": [("06", "Kab. Agam"), ("71", "Kota Padang")],
    "18": [("01", "Kab. Lampung Selatan"), ("71", "Kota Bandar Lampung")],
    "31": [("71", "Kota Jakarta Selatan"), ("75", "Kota Jakarta Utara")],
    "32": [("01", "Kab. Bogor"), ("04", "Kab. Bandung"), ("05", "Kab. Garut")],
    "33": [("10", "Kab. Klaten"), ("74", "Kota Semarang"), ("02", "Kab. Banyumas")],
    "34": [("02", "Kab. Bantul"), ("71", "Kota Yogyakarta")],
    "35": [("15", "Kab. Sidoarjo"), ("78", "Kota Surabaya"), ("09", "Kab. Jember")],
    "36": [("03", "Kab. Tangerang"), ("71", "Kota Tangerang")],
    "51": [("03", "Kab. Badung"), ("71", "Kota Denpasar")],
    "52": [("01", "Kab. Lombok Barat"), ("71", "Kota Mataram")],
    "53": [("01", "Kab. Kupang"), ("71", "Kota Kupang")],
    "64": [("02", "Kab. Kutai Kartanegara"), ("72", "Kota Samarinda")],
    "73": [("08", "Kab. Gowa"), ("71", "Kota Makassar")],
    "81": [("01", "Kab. Maluku Tengah"), ("71", "Kota Ambon")],
}
STORIES = [
    "Berjualan sayur di pasar sejak subuh untuk menyekolahkan dua anak.",
    "Mengantar penumpang dan paket setiap hari, sering pulang larut malam.",
    "Menggarap sawah sewaan; penghasilan naik turun mengikuti musim panen.",
    "Melaut dengan perahu kecil bersama dua tetangga.",
    "Bekerja sebagai asisten rumah tangga dan mengirim uang ke kampung.",
    "Membuka warung kopi kecil di depan rumah.",
    "Menjadi marbot masjid sambil mengajar mengaji anak-anak kampung.",
    None,
]


def _nik(rng: random.Random, province: str, regency: str, born: date, gender: Gender) -> str:
    day = born.day + (40 if gender == Gender.FEMALE else 0)
    serial = rng.randint(1, 9999)
    district = rng.randint(1, 20)
    return f"{province}{regency}{district:02d}{day:02d}{born.month:02d}{born:%y}{serial:04d}"


def _user(email: str, name: str, role: Role) -> User:
    user = User(
        email=email, display_name=name, role=role, password_hash=hash_password(DEMO_PASSWORD)
    )
    db.session.add(user)
    return user


def _partner(email: str, name: str, kind: PartnerKind) -> Partner:
    owner = _user(email, name, Role.PARTNER)
    partner = Partner(user=owner, name=name, kind=kind, status=PartnerStatus.APPROVED)
    db.session.add(partner)
    return partner


def sandbox_endpoint(api: str) -> str:
    """The partner sandbox's address for ``api`` (telco, health, insurer), as configured."""
    config = current_app.config
    return config["PARTNER_SANDBOX_URL"].rstrip("/") + config["PARTNER_API_PATHS"][api]


def follow_sandbox_address() -> int:
    """Point offers that call a partner sandbox on this machine (a loopback address and a
    sandbox API path, as the demo stores them) at the configured ``PARTNER_SANDBOX_URL``:
    ``make run`` on another port, or a database seeded at another one. Partners' own
    endpoints are left alone. Flushes; returns how many offers moved."""
    paths = {path.rstrip("/"): api for api, path in current_app.config["PARTNER_API_PATHS"].items()}
    moved = 0
    for offer in db.session.scalars(select(Offer).where(Offer.api_endpoint_url.is_not(None))):
        parts = urlsplit(offer.api_endpoint_url or "")
        api = paths.get(parts.path.rstrip("/"))
        if parts.hostname not in LOOPBACK_HOSTS or api is None:
            continue
        wanted = sandbox_endpoint(api)
        if offer.api_endpoint_url != wanted:
            offer.api_endpoint_url = wanted
            moved += 1
    db.session.flush()
    return moved


def seed_catalog() -> dict[str, Bundle]:
    insurer = _partner("bpjs@payung.test", "BPJS Ketenagakerjaan", PartnerKind.INSURER)
    health = _partner("fita@payung.test", "Fita (contoh)", PartnerKind.HEALTH_APP)
    telco = _partner("telkomsel@payung.test", "Telkomsel (contoh)", PartnerKind.TELCO)

    ensure_default_dues_data()
    offers = combofit_offers(
        insurer=insurer,
        health_app=health,
        telco=telco,
        dues={
            "billing": OfferBilling.MONTHLY,
            "name_id": "Iuran BPJS Ketenagakerjaan JKK + JKM",
            "name_en": "BPJS Ketenagakerjaan dues, JKK + JKM",
            "description_id": "Jaminan Kecelakaan Kerja dan Jaminan Kematian untuk pekerja bukan "
            "penerima upah (BPU), penghasilan Rp1.000.000.",
            "description_en": "Work-accident and death cover for informal (BPU) workers, "
            "Rp1,000,000 income band.",
            "unit_price_idr": 16_800,
        },
        health={
            "name_id": "Fita Premium 30 hari (harga contoh)",
            "name_en": "Fita Premium, 30 days (example price)",
            "description_id": "Aplikasi kesehatan preventif: pantau langkah, tidur, dan "
            "konsultasi.",
            "description_en": "Preventive health app: steps, sleep and consultations.",
            "unit_price_idr": 25_000,
            "billing": OfferBilling.MONTHLY,
        },
        quota={
            "name_id": "Kuota data 5 GB, 30 hari, khusus Telkomsel (harga contoh)",
            "name_en": "5 GB data quota, 30 days, Telkomsel only (example price)",
            "unit_price_idr": 30_000,
            "billing": OfferBilling.MONTHLY,
            # The partner sandbox's telco API (python -m sandbox) and its development secret;
            # ``follow_sandbox_address`` moves it when the sandbox runs on another port.
            "api_endpoint_url": sandbox_endpoint("telco"),
            "api_secret_encrypted": encrypt("sandbox-telco-secret"),
        },
    )
    dues, premium, quota = offers.dues, offers.health, offers.quota
    db.session.add_all([dues, premium, quota])

    sertakan = Bundle(
        slug="sertakan",
        name="Sertakan",
        summary_id="Bayarkan iuran BPJS Ketenagakerjaan (JKK + JKM) seorang pekerja informal.",
        summary_en="Pay an informal worker's BPJS Ketenagakerjaan dues (JKK + JKM).",
        is_published=True,
        parts=[BundlePart(offer=dues, quantity=1)],
    )
    combofit = combofit_bundle(
        offers,
        slug="combofit",
        summary_id="Aplikasi kesehatan + iuran BPJS Ketenagakerjaan + kuota data dalam satu paket.",
        summary_en="Health app + BPJS Ketenagakerjaan dues + data quota in one bundle.",
        is_example_pricing=True,
    )
    db.session.add_all([sertakan, combofit])
    db.session.flush()

    add_pool_codes(
        premium,
        (f"FITA-DEMO-{n:06d}" for n in range(1, DEMO_POOL_CODES + 1)),
        expires_on=date(2027, 12, 31),
    )
    return {"sertakan": sertakan, "combofit": combofit}


def seed_workers(count: int, *, recorded_by: User, rng: random.Random) -> None:
    occupations = list(Occupation)
    provinces = sorted(REGENCIES)
    consent_at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for n in range(count):
        gender = Gender.FEMALE if n % 2 == 0 else Gender.MALE
        first = rng.choice(FEMALE_NAMES if gender == Gender.FEMALE else MALE_NAMES)
        province = provinces[n % len(provinces)]
        regency_code, regency = rng.choice(REGENCIES[province])
        born = date(1965, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
        nik = _nik(rng, province, regency_code, born, gender)
        db.session.add(
            Worker(
                full_name=f"{first} {rng.choice(FAMILY_NAMES)}",
                occupation=occupations[n % len(occupations)],
                province_code=province,
                regency=regency,
                gender=gender,
                birth_date=born,
                story=rng.choice(STORIES),
                phone_e164=f"+62812{n + 1:08d}",
                nik_encrypted=encrypt(nik),
                nik_digest=digest(nik, purpose="nik"),
                is_listed=True,
                listing_consent_at=consent_at,
                insurer_consent_at=consent_at,
                consent_recorded_by_id=recorded_by.id,
            )
        )


def seed_demo() -> list[tuple[str, str]]:
    """Fill an empty database; return the demo logins as (role, login)."""
    admin = _user("admin@payung.test", "Admin Payung", Role.ADMIN)
    _user("ratna@payung.test", "Ibu Ratna Wijaya", Role.SPONSOR)
    csr = _user("csr@payung.test", "PT Maju Bersama (CSR)", Role.SPONSOR)
    db.session.flush()
    save_profile(  # its invoices, receipts and statements carry its NPWP
        csr,
        kind="company",
        legal_name="PT Maju Bersama",
        address="Jl. Jend. Sudirman Kav. 52-53, Jakarta Selatan 12190",
        npwp="01.234.567.8-901.000",
    )
    seed_catalog()
    db.session.flush()
    seed_workers(DEMO_WORKERS, recorded_by=admin, rng=random.Random(2026))  # noqa: S311
    db.session.flush()
    index_workers(db.session.scalars(select(Worker)))  # the directory's text search
    first = db.session.scalar(select(Worker).where(Worker.phone_e164 == FIRST_WORKER_PHONE))
    worker_user = User(role=Role.WORKER, phone_e164=FIRST_WORKER_PHONE, display_name="")
    db.session.add(worker_user)
    db.session.flush()
    if first is not None:
        first.user_id = worker_user.id
        worker_user.display_name = first.full_name
    return [
        ("admin", "admin@payung.test"),
        ("sponsor (person)", "ratna@payung.test"),
        ("sponsor (company)", "csr@payung.test"),
        ("partner: insurer", "bpjs@payung.test"),
        ("partner: health app", "fita@payung.test"),
        ("partner: telco", "telkomsel@payung.test"),
        ("worker (phone, code in /dev/outbox)", "0812-0000-0001"),
    ]


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load the demo partners, bundles, sponsors and 300 consenting workers."""
    has_users = db.session.scalar(select(func.count()).select_from(User)) or 0
    if has_users:
        if if_empty:
            click.echo("Database already has data; demo data not loaded.")
            return
        raise click.ClickException("the database is not empty; refusing to add demo data")
    logins = seed_demo()
    db.session.commit()
    click.echo(f"Demo data loaded. Password for every email login: {DEMO_PASSWORD}")
    for role, login in logins:
        click.echo(f"  {role:38} {login}")
