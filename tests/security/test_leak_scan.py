"""No NIK and no full phone number of a worker reaches a sponsor, a partner, an admin list page
or a log line.

A realistic workload runs with every log record captured at DEBUG: workers claim bundles and
sign in by phone, a sponsor covers workers, invites one by phone, an agent enrols workers by CSV
and by the API. Then every page a sponsor, a partner and the admin can open — read from
``app.url_map``, the object pages filled from the cross-tenant world — and the partner API are
fetched, and every body (HTML, CSV, JSON, PDF text) and every log record is scanned for each
worker's NIK and phone number in any common form: +62 812…, 62812…, 0812…, with spaces, dots or
dashes. A worker's own pages may show their own data; they are scanned for other workers'.
"""

import logging
import re
import threading
import urllib.request
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from werkzeug.serving import make_server

from accounts.models import Role, User
from extensions import db
from security import mask_access_logs
from tests.pdf_support import pdf_text as inflated_pdf_text
from tests.security.test_cross_tenant import NOT_SWEPT, build_url, unfillable
from tests.security.world import World, build_world, csrf_token_for
from vault import decrypt
from workers.models import Heir, Invitation, Worker

NUMBER_RUN = re.compile(r"\+?\d(?:[\d\s\-.()/]{0,3}\d){7,}")
NOT_SCANNED = {
    "static": "vendored files",
    "dev.outbox": "the development outbox shows messages as sent; it does not exist in production",
    "checkout.pay": "opens a Stripe customer (no localstripe here); shows only amounts",
    "renewals.card": "opens a Stripe SetupIntent (no localstripe here)",
}
# Admin pages about ONE person or order may show a phone number to the support staff who need
# it; the rule is for list pages. NIKs are never shown anywhere.
ADMIN_DETAIL = {"admin.fulfillment_item", "admin_orders.detail", "admin_partners.detail"}


def national_number(phone_e164: str) -> str:
    return phone_e164.removeprefix("+").removeprefix("62")


def digits_of(text: str) -> list[str]:
    return [re.sub(r"\D", "", run) for run in NUMBER_RUN.findall(text)]


def pdf_text(data: bytes) -> str:
    """Text of a PDF's content streams, inflated where compressed."""
    return data.decode("latin-1") + "\n" + inflated_pdf_text(data)


class Scanner:
    def __init__(self) -> None:
        self.niks: dict[str, int] = {}  # NIK -> worker id
        self.phones: dict[str, int | None] = {}  # national number -> worker id (None: not a worker)

    def learn(self) -> None:
        for worker in db.session.scalars(select(Worker)):
            self.niks[decrypt(worker.nik_encrypted)] = worker.id
            if worker.phone_e164:
                self.phones[national_number(worker.phone_e164)] = worker.id
        for user in db.session.scalars(select(User).where(User.role == Role.WORKER)):
            worker_id = db.session.scalar(select(Worker.id).where(Worker.user_id == user.id))
            self.phones.setdefault(national_number(user.phone_e164), worker_id)
        for heir in db.session.scalars(select(Heir).where(Heir.phone_e164.is_not(None))):
            self.phones.setdefault(national_number(heir.phone_e164), None)
        for invitation in db.session.scalars(select(Invitation)):
            phone = getattr(invitation, "phone_e164", None)
            if phone:
                self.phones.setdefault(national_number(phone), None)

    def hits(self, text: str, *, own_worker: int | None = None, phones: bool = True) -> set[str]:
        found = set()
        for digits in digits_of(text):
            for nik, worker_id in self.niks.items():
                if nik in digits and worker_id != own_worker:
                    found.add(f"NIK {nik}")
            if phones:
                for number, worker_id in self.phones.items():
                    if number in digits and (own_worker is None or worker_id != own_worker):
                        found.add(f"phone {number}")
        return found


def test_the_scanner_finds_every_form_of_a_number():
    scanner = Scanner()
    scanner.niks = {"3201015205900001": 1}
    scanner.phones = {"81234567890": 1}
    for text in (
        "+6281234567890",
        "6281234567890",
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "+62 812 3456 7890",
        "(0812) 345.678.90",
        "tel:+62-812-3456-7890",
    ):
        assert scanner.hits(text) == {"phone 81234567890"}, text
    assert scanner.hits("NIK 3201 0152 0590 0001") == {"NIK 3201015205900001"}
    assert scanner.hits("0812-****-7890 ••••0001 Rp16.800 2026-11-26") == set()
    assert scanner.hits("081234567890", own_worker=1) == set()


def _workload(world: World) -> None:
    """What people do besides what the world already did (claims, CSV enrolment, invitation):
    a worker signs in by phone, an agent enrols by the API, bad input is refused."""
    app = world.app
    client = app.test_client()
    token = csrf_token_for(client)
    client.post("/masuk/pekerja", data={"phone": "0813-1111-2222", "csrf_token": token})
    client.post("/masuk/pekerja/kode", data={"code": "000000", "csrf_token": token})
    client.post("/klaim", data={"code": "ABCD-EFGH-JKMN-PQRS-T", "csrf_token": token})
    auth = {"Authorization": f"Bearer {world.api_keys['partner_a']}"}
    row = {
        "full_name": "Sri Lewat Api",
        "nik": "3201015205900777",
        "phone": "0857 9999 0001",
        "birth_date": "1990-05-12",
        "gender": "female",
        "occupation": "farmer",
        "province": "Jawa Barat",
        "regency": "Kab. Garut",
        "heir_name": "Budi",
        "heir_relation": "spouse",
        "consent_listing": True,
        "consent_insurer": True,
    }
    bad = row | {"nik": "3201019999999999", "phone": "0857 9999 0002"}
    enrolled = client.post("/api/v1/workers", json={"workers": [row, bad]}, headers=auth)
    assert enrolled.status_code == 200, enrolled.get_json()
    world.bodies.append(("partner_a", "POST /api/v1/workers", enrolled.get_data(as_text=True)))


def _viewers(world: World) -> dict[str, tuple[str, ...]]:
    return {"sponsor_a": ("sponsor",), "partner_a": ("partner",), "admin": ("admin",)}


def _routes_for(app: Any, roles: tuple[str, ...]) -> list[Any]:
    chosen = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_SCANNED:
            continue
        if rule.arguments and (rule.endpoint in NOT_SWEPT or unfillable(rule)):
            continue
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if access in ("public", "signed_in") or (
            isinstance(access, tuple) and set(access) & set(roles)
        ):
            chosen.append(rule)
    return chosen


def _body(response: Any) -> str:
    data = response.get_data()
    if response.mimetype == "application/pdf":
        return pdf_text(data)
    return data.decode("utf-8", "replace")


def test_no_nik_or_phone_reaches_sponsors_partners_admin_lists_or_logs(app, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")  # SQL echo is off in production
    world = build_world(app)
    world.bodies = []  # type: ignore[attr-defined]
    _workload(world)
    scanner = Scanner()
    scanner.learn()
    assert len(scanner.niks) >= 5 and len(scanner.phones) >= 6

    fetched = 0
    leaks = []
    for who, roles in _viewers(world).items():
        client = world.client(who)
        for rule in _routes_for(app, roles):
            url = build_url(world, rule) if rule.arguments else rule.rule
            response = client.get(url)
            fetched += 1
            phones = rule.endpoint not in ADMIN_DETAIL
            found = scanner.hits(_body(response), phones=phones)
            if found:
                leaks.append(f"{who} GET {url} ({response.status_code}): {sorted(found)}")
    sponsor = world.client("sponsor_a")
    for worker_id in db.session.scalars(select(Worker.id).where(Worker.is_listed.is_(True))):
        for url in (f"/pekerja/{worker_id}", f"/pekerja/{worker_id}/foto"):
            response = sponsor.get(url)
            fetched += 1
            if found := scanner.hits(_body(response)):
                leaks.append(f"sponsor_a GET {url} ({response.status_code}): {sorted(found)}")
    auth = {"Authorization": f"Bearer {world.api_keys['partner_a']}"}
    for rule in _routes_for(app, ("partner_api_key",)):
        if "GET" in rule.methods and not rule.arguments:
            response = world.client("anonymous").get(rule.rule, headers=auth)
            fetched += 1
            found = scanner.hits(response.get_data(as_text=True))
            if found:
                leaks.append(f"partner API GET {rule.rule}: {sorted(found)}")
    for who, what, body in world.bodies:  # type: ignore[attr-defined]
        found = scanner.hits(body)
        if found:
            leaks.append(f"{who} {what}: {sorted(found)}")

    worker = world.client("worker_a")
    own_number = national_number(world.ids["worker_a_phone"])
    assert f"phone {own_number}" in scanner.hits(_body(worker.get("/saya/data")))  # it sees
    for rule in _routes_for(app, ("worker",)):
        url = build_url(world, rule) if rule.arguments else rule.rule
        found = scanner.hits(_body(worker.get(url)), own_worker=world.ids["worker_a_id"])
        if found:
            leaks.append(f"worker A GET {url}: other workers' {sorted(found)}")

    logged = []
    for record in caplog.get_records("call"):
        text = record.getMessage() + (record.exc_text or "")
        found = scanner.hits(text)
        if found:
            logged.append(f"log {record.name}:{record.levelname}: {sorted(found)}: {text[:120]}")
    assert fetched >= 40
    assert leaks + logged == [], "\n".join(leaks + logged)


# --- access logs --------------------------------------------------------------------------------

TYPED = ["081234567890", "0812-3456-7890", "+62 812 3456 7890", "3201015205900001"]


def test_access_logs_of_a_real_server_hide_numbers_typed_into_query_strings(app, caplog):
    """The admin's message log is searched by phone number (a GET form), and a sponsor may type
    one into the directory search: the request line that werkzeug (or gunicorn) logs must not
    keep it."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for typed in TYPED:
            for path in ("/admin/pesan/?recipient=", "/pekerja?q="):
                with urllib.request.urlopen(base + path + quote(typed)) as answer:  # noqa: S310
                    answer.read()
    finally:
        server.shutdown()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(lines) >= len(TYPED) * 2
    scanner = Scanner()
    scanner.niks = {"3201015205900001": 0}
    scanner.phones = {"81234567890": 0}
    assert [line for line in lines if scanner.hits(line)] == []
    assert any("pesan" in line and "890" in line for line in lines)  # the line is still useful


def test_gunicorn_access_records_are_masked_too():
    mask_access_logs()
    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        '%(h)s "%(r)s" %(s)s',
        {"h": "10.1.2.3", "r": "GET /admin/pesan/?recipient=%2B6281234567890 HTTP/1.1", "s": "200"},
        None,
    )
    for log_filter in logging.getLogger("gunicorn.access").filters:
        log_filter.filter(record)
    message = record.getMessage()
    assert "6281234567890" not in message and "10.1.2.3" in message
