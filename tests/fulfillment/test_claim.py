"""The worker claims a bundle at /klaim: the bundle code, the phone's one-time code, then the
bundle page, the membership card and the worker's home. Every refusal changes nothing."""

import json
import re
import threading
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from flask import current_app
from markupsafe import escape
from sqlalchemy import event, func, select

from accounts.models import OneTimeCode, Role, User
from bundles.models import Bundle, Offer, OfferKind, PoolCode
from core.dates import jakarta_today
from core.identity import mask_phone
from extensions import db, utcnow
from fulfillment.claims import claiming, limits
from fulfillment.claims.codes import InvalidClaimCode, generate_claim_code
from fulfillment.claims.services import issue_claim_code, look_up_claim
from fulfillment.models import ClaimCode, FulfillmentItem, IssuedCode, ItemStatus
from messaging.models import Message
from sponsorship.checkout.models import OrderLine, OrderLinePart
from tests.conftest import ON_POSTGRES, PG_URL
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers
from vault import decrypt, encrypt
from workers.models import Coverage, Worker

KPJ = "19023456781"
NIK_PATTERN = re.compile(r"\b\d{16}\b")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {}  # no partner sandbox or localstripe: the line is built from the models


def msg(lazy: Any) -> str:
    """The message as the page shows it (default locale, HTML-escaped)."""

    with current_app.test_request_context():
        return str(escape(str(lazy)))


def build_line(*, quota_status: ItemStatus = ItemStatus.ISSUED) -> dict[str, Any]:
    """A paid line whose parts were issued (the data top-up in ``quota_status``) and its claim
    code sent by SMS; returns the code as typed from the SMS, the worker and the claim."""
    combo = make_combofit(codes=2)
    worker = make_workers(1)[0]
    order = make_paid_order(combo.bundle, [worker], months=3)
    line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    now = utcnow()
    for part in db.session.scalars(select(OrderLinePart).where(OrderLinePart.line_id == line.id)):
        offer = db.session.get(Offer, part.offer_id)
        item = FulfillmentItem(
            order_id=order.id,
            order_line_id=line.id,
            order_line_part_id=part.id,
            offer_id=offer.id,
            method=offer.fulfillment_method,
            idempotency_key=f"key-{part.id}",
            status=ItemStatus.ISSUED,
            issued_at=now,
        )
        if offer.kind == OfferKind.INSURANCE_DUES:
            item.delivery = {
                "programmes": ["JKK", "JKM"],
                "months": ["2026-01", "2026-02", "2026-03"],
                "covered_until": "2026-03-31",
            }
            item.delivery_encrypted = encrypt(json.dumps({"kpj": KPJ}))
        elif offer.kind == OfferKind.DATA_QUOTA:
            item.status = quota_status
            item.delivery = {"quota_mb": 5120, "validity_days": 30, "serial_number": "SN-1"}
        db.session.add(item)
        db.session.flush()
        if offer.kind == OfferKind.HEALTH_APP:
            pool_code = db.session.scalar(select(PoolCode).where(PoolCode.offer_id == offer.id))
            db.session.add(IssuedCode(item_id=item.id, pool_code_id=pool_code.id))
            voucher = decrypt(pool_code.code_encrypted)
    db.session.add(
        Coverage(
            worker_id=worker.id,
            order_line_id=line.id,
            programmes=["JKK", "JKM"],
            months=3,
            starts_on=jakarta_today(),
            ends_on=jakarta_today() + timedelta(days=40),
        )
    )
    worker.covered_until = jakarta_today() + timedelta(days=40)
    claim = issue_claim_code(line, now=now)
    db.session.commit()
    sms = db.session.scalar(select(Message).where(Message.purpose == "claim_code"))
    code = re.search(r"[0-9A-Z]{4}(?:-[0-9A-Z]{1,4}){4}", sms.full_body()).group(0)
    return {
        "code": code,
        "worker_id": worker.id,
        "phone": worker.phone_e164,
        "claim_id": claim.id,
        "voucher": voucher,
    }


def otp_sent_to(phone: str) -> str:
    sms = db.session.scalar(
        select(Message)
        .where(Message.recipient == phone, Message.purpose == "sign_in")
        .order_by(Message.id.desc())
        .limit(1)
    )
    return re.search(r"\b\d{6}\b", sms.full_body()).group(0)


def messages() -> int:
    return db.session.scalar(select(func.count()).select_from(Message))


def messages_to(phone: str, purpose: str) -> int:
    query = select(func.count()).select_from(Message)
    return db.session.scalar(query.where(Message.recipient == phone, Message.purpose == purpose))


def claimed_at(claim_id: int) -> Any:
    return db.session.scalar(select(ClaimCode.claimed_at).where(ClaimCode.id == claim_id))


def claim(client: Any, line: dict[str, Any], typed: str | None = None) -> Any:
    """Both steps; returns the last response."""
    response = client.post("/klaim", data={"code": typed or line["code"]})
    assert response.status_code == 302, response.text
    return client.post("/klaim/kode", data={"code": otp_sent_to(line["phone"])})


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("hello", "length"), ("ABCD-EFGH-IJKL-MNOP-U", "charset")],
)
def test_a_code_of_the_wrong_shape_is_refused_and_sends_nothing(app, client, typed, reason):
    line = build_line()
    before = messages()
    response = client.post("/klaim", data={"code": typed})
    assert response.status_code == 422
    assert msg(InvalidClaimCode(reason).message) in response.text
    assert messages() == before and claimed_at(line["claim_id"]) is None


def test_a_typo_is_caught_by_the_check_character(app, client):
    line = build_line()
    code = line["code"]
    # Two neighbours swapped (the first pair that differs): a check modulo the prime 37 catches
    # every such swap. (Setting the check character to "0" instead, as this did when the first
    # two were equal, left the code valid when its check character was "0": 1 run in ~1,000.)
    i = next(i for i in range(len(code) - 2) if code[i] != code[i + 1])
    swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    response = client.post("/klaim", data={"code": swapped})
    assert response.status_code == 422
    assert msg(InvalidClaimCode("check").message) in response.text
    assert claimed_at(line["claim_id"]) is None


def test_an_unknown_code_is_refused(app, client):
    line = build_line()
    before = messages()
    response = client.post("/klaim", data={"code": generate_claim_code()})
    assert response.status_code == 422
    assert msg(claiming.UnknownClaimCode.message) in response.text
    assert messages() == before and claimed_at(line["claim_id"]) is None


def test_a_wrong_one_time_code_claims_nothing_and_the_right_one_still_works(app, client):
    line = build_line()
    assert client.post("/klaim", data={"code": line["code"]}).status_code == 302
    right = otp_sent_to(line["phone"])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post("/klaim/kode", data={"code": wrong})
    assert response.status_code == 422
    assert claimed_at(line["claim_id"]) is None
    assert client.get("/saya").status_code == 302  # not signed in
    response = client.post("/klaim/kode", data={"code": right})
    assert response.status_code == 302
    assert claimed_at(line["claim_id"]) is not None


def test_a_code_is_claimed_only_once(app, client):
    line = build_line()
    claim(client, line)
    first = claimed_at(line["claim_id"])
    other = app.test_client()
    response = other.post("/klaim", data={"code": line["code"]})
    assert response.status_code == 422
    assert msg(claiming.AlreadyClaimed.message) in response.text
    assert claimed_at(line["claim_id"]) == first


def test_another_workers_bundle_cannot_be_claimed_while_signed_in(app, login_as):
    line = build_line()
    stranger = User(role=Role.WORKER, phone_e164="+6281399999999", display_name="X")
    db.session.add(stranger)
    db.session.commit()
    response = login_as(stranger).post("/klaim", data={"code": line["code"]})
    assert response.status_code == 422
    assert msg(claiming.NotThisWorker.message) in response.text
    assert claimed_at(line["claim_id"]) is None


# --- the happy path -------------------------------------------------------------------------


def test_claiming_with_a_sloppily_typed_code_signs_the_worker_in_and_shows_every_part(app, client):
    line = build_line()
    sloppy = line["code"].replace("-", " ").lower().replace("0", "o").replace("1", "l")
    response = client.post("/klaim", data={"code": sloppy})
    assert response.status_code == 302 and response.location.endswith("/klaim/kode")
    page = client.get("/klaim/kode").text
    assert mask_phone(line["phone"]) in page and line["phone"] not in page

    response = client.post("/klaim/kode", data={"code": otp_sent_to(line["phone"])})
    assert response.status_code == 302
    assert response.location.endswith(f"/saya/paket/{line['claim_id']}")
    page = client.get(response.location).text
    assert line["voucher"] in page
    assert KPJ in page
    assert mask_phone(line["phone"]) in page and line["phone"] not in page
    assert "JKK + JKM" in page
    assert "5 GB" in page
    assert not NIK_PATTERN.search(page)
    # the worker is signed in, linked to the record, and the home lists the bundle
    worker = db.session.get(Worker, line["worker_id"])
    assert worker.user_id is not None
    home = client.get("/saya").text
    assert f"/saya/paket/{line['claim_id']}" in home
    assert "41" in home  # days left: cover to today + 40, and the ledger counts today
    assert line["phone"] not in home and not NIK_PATTERN.search(home)


def test_a_part_still_pending_shows_as_pending_never_ready(app, client):
    line = build_line(quota_status=ItemStatus.AWAITING_PARTNER)
    claim(client, line)
    page = client.get(f"/saya/paket/{line['claim_id']}").text
    assert page.count("badge badge-warning") == 1
    assert page.count("badge badge-success") == 2


def test_the_card_is_printable_with_a_server_made_qr_code(app, client):
    line = build_line()
    claim(client, line)
    page = client.get(f"/saya/paket/{line['claim_id']}/kartu").text
    assert KPJ in page and "<svg" in page and 'class="qr"' in page
    assert "style=" not in page and "<script>" not in page
    assert line["phone"] not in page and not NIK_PATTERN.search(page)


def test_a_bundle_page_is_only_for_its_worker(app, client, login_as):
    line = build_line()
    claim(client, line)
    stranger = User(role=Role.WORKER, phone_e164="+6281399999998", display_name="X")
    db.session.add(stranger)
    db.session.commit()
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = stranger.get_id()
    assert other.get(f"/saya/paket/{line['claim_id']}").status_code == 404
    assert other.get(f"/saya/paket/{line['claim_id']}/kartu").status_code == 404


def test_a_signed_in_owner_claims_with_the_code_alone(app, login_as):
    line = build_line()
    user = User(role=Role.WORKER, phone_e164=line["phone"], display_name="S")
    db.session.add(user)
    db.session.commit()
    before = messages()
    response = login_as(user).post("/klaim", data={"code": line["code"]})
    assert response.status_code == 302
    assert response.location.endswith(f"/saya/paket/{line['claim_id']}")
    assert messages() == before  # no SMS needed
    assert claimed_at(line["claim_id"]) is not None


# --- concurrency ----------------------------------------------------------------------------


def test_two_claims_at_the_same_moment_give_exactly_one_success(app):
    line = build_line()
    user = User(role=Role.WORKER, phone_e164=line["phone"], display_name="S")
    db.session.add(user)
    db.session.flush()
    db.session.get(Worker, line["worker_id"]).user_id = user.id
    db.session.commit()
    user_id = user.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        with app.app_context():
            me = db.session.get(User, user_id)
            barrier.wait()
            try:
                claiming.start_claim(look_up_claim(line["code"]), user=me)
                db.session.commit()
                outcomes.append("claimed")
            except claiming.AlreadyClaimed:
                db.session.rollback()
                outcomes.append("already")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["already", "claimed"]
    assert claimed_at(line["claim_id"]) is not None


# --- rate limits ------------------------------------------------------------------------------


class TestRateLimits:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_CLAIM_FAILURES": "3 per hour",
            "RATELIMIT_CLAIM_SMS": "2 per hour",
        }

    def test_an_ip_waits_after_wrong_codes_but_other_ips_do_not(self, app, client):
        line = build_line()
        # typos the check symbol catches are not guesses: they never count
        codes = [client.post("/klaim", data={"code": "nonsense"}).status_code for _ in range(5)]
        codes += [client.post("/klaim", data={"code": generate_claim_code()}).status_code]
        codes += [client.post("/klaim", data={"code": generate_claim_code()}).status_code]
        codes += [client.post("/klaim", data={"code": generate_claim_code()}).status_code]
        codes.append(client.post("/klaim", data={"code": line["code"]}).status_code)
        assert codes == [422] * 8 + [429]
        owner = app.test_client()
        response = owner.post(
            "/klaim", data={"code": line["code"]}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
        )
        assert response.status_code == 302

    def test_wrong_one_time_codes_count_against_the_ip(self, app, client):
        line = build_line()
        client.post("/klaim", data={"code": line["code"]})
        codes = [client.post("/klaim/kode", data={"code": "000000"}).status_code for _ in range(4)]
        assert codes[-1] == 429
        assert claimed_at(line["claim_id"]) is None

    def test_sms_for_a_code_are_capped_yet_the_signed_in_owner_still_claims(self, app, login_as):
        line = build_line()
        stranger = app.test_client()

        def ask(n: int) -> int:
            return stranger.post(
                "/klaim", data={"code": line["code"]}, environ_base={"REMOTE_ADDR": f"10.0.1.{n}"}
            ).status_code

        # while the code sent moments ago still works no new one is sent (nor counted)
        assert [ask(n) for n in range(3)] == [302, 302, 302]
        assert messages_to(line["phone"], "sign_in") == 1
        codes = []
        for n in range(3):
            for otp in db.session.scalars(select(OneTimeCode)):  # each after the resend wait
                otp.created_at -= timedelta(minutes=2)
            db.session.commit()
            codes.append(ask(n))
        assert codes == [302, 429, 429]  # 2 per hour, the first one included
        assert messages_to(line["phone"], "sign_in") == 2
        assert claimed_at(line["claim_id"]) is None
        user = User(role=Role.WORKER, phone_e164=line["phone"], display_name="S")
        db.session.add(user)
        db.session.commit()
        owner = login_as(user)
        response = owner.post("/klaim", data={"code": line["code"]})
        assert response.status_code == 302, response.text
        assert claimed_at(line["claim_id"]) is not None

    def test_two_bundle_codes_of_one_phone_share_its_sms_budget(self, app):
        # The limit counts SMS per phone, not per bundle code: a second code of the same
        # worker (a second sponsor's bundle) cannot be used to send the phone more.
        line = build_line()
        worker = db.session.get(Worker, line["worker_id"])
        bundle_id = db.session.scalar(
            select(OrderLine.bundle_id).join(ClaimCode).where(ClaimCode.id == line["claim_id"])
        )
        order = make_paid_order(db.session.get(Bundle, bundle_id), [worker], months=1)
        second_line = db.session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        second = issue_claim_code(second_line, now=utcnow())
        db.session.commit()
        assert second.id != line["claim_id"]
        sms = db.session.scalars(
            select(Message).where(Message.purpose == "claim_code").order_by(Message.id)
        ).all()[-1]
        second_code = re.search(r"[0-9A-Z]{4}(?:-[0-9A-Z]{1,4}){4}", sms.full_body()).group(0)
        assert second_code != line["code"]
        stranger = app.test_client()

        def ask(code: str, n: int) -> int:
            for otp in db.session.scalars(select(OneTimeCode)):  # each after the resend wait
                otp.created_at -= timedelta(minutes=2)
            db.session.commit()
            return stranger.post(
                "/klaim", data={"code": code}, environ_base={"REMOTE_ADDR": f"10.0.2.{n}"}
            ).status_code

        codes = [ask(line["code"], 1), ask(second_code, 2), ask(second_code, 3)]
        assert codes == [302, 302, 429]  # 2 per hour for the phone, whichever code asks
        assert ask(line["code"], 4) == 429
        assert messages_to(line["phone"], "sign_in") == 2


def test_the_per_phone_limit_and_the_claim_look_the_code_up_once_a_request(app, count_queries):
    # Flask-Limiter asks for the key before the view and again around it, and the view claims
    # with the same row; under load every round trip to the database lengthens the claim's tail.
    line = build_line()
    posted = {"method": "POST", "data": {"code": line["code"]}}
    with app.test_request_context("/klaim", **posted), count_queries() as statements:
        keys = {limits.claim_phone_key() for _ in range(3)}
        found = limits.typed_claim(line["code"])
    assert len(statements) == 1
    assert len(keys) == 1 and keys != {"claim-phone:none"}
    assert found is not None and found.claim.id == line["claim_id"]
    assert found.phone_e164 == line["phone"]
    with app.test_request_context("/klaim", method="POST", data={"code": generate_claim_code()}):
        assert limits.claim_phone_key() == "claim-phone:none"
        assert limits.typed_claim(generate_claim_code()) is None


class TestStatements:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}  # the limits' lookups are part of the cost

    def test_a_claim_post_runs_three_statements_and_commits_once(self, app, client):
        """The claim POST sends a one-time code in three statements and one commit: the claim
        with its worker's phone and that phone's last unused code (read once, for the
        per-phone limit, the resend wait and the claim), the new code and its SMS. It ran 8
        (10 with the delivery job): the limit and the claim each read the claim, the worker
        was read again, the phone's last code on its own, an UPDATE expired unused codes when
        there were none, and the phone's channel and STOP were looked up for a one-time code,
        which goes by SMS whatever they say. The delivery job (eager here, a Celery worker in
        production) commits on its own afterwards."""
        line = build_line()
        events = self.post(client, line["code"])
        request = events[: events.index("COMMIT")]
        # PostgreSQL: the code and its SMS in one statement (core.writing.insert_together)
        writes = ["WITH"] if ON_POSTGRES else ["INSERT", "INSERT"]
        assert [e.split()[0] for e in request] == ["SELECT", *writes], events
        assert events.count("COMMIT") == 2, events  # the request's, then the delivery job's
        assert messages_to(line["phone"], "sign_in") == 1
        # asked again at once: the code sent moments ago still works, nothing is written
        assert self.post(app.test_client(), line["code"]) == [events[0], "COMMIT"]
        assert messages_to(line["phone"], "sign_in") == 1

    def test_the_one_time_code_claims_with_each_row_written_once(self, app, client):
        """The verify POST of a worker's first claim: each row it changes is written once.
        The claim's guarded UPDATE was followed by a second UPDATE writing the same
        claimed_at, a new account was updated for its sign-in time right after its INSERT,
        and the redirect read the claim again after the commit. And the claim with its worker
        is read once, for the per-phone limit and the claim: the limit had read the phone, then
        the claim and the worker were read on their own."""
        line = build_line()
        self.post(client, line["code"])
        events = self.post(client, otp_sent_to(line["phone"]), path="/klaim/kode")
        reads = [e for e in events[: events.index("COMMIT")] if e.startswith("SELECT")]
        # the claim with its worker, the one-time code, the account, the worker to link
        assert len(reads) == 4, events
        writes = [e for e in events if e.split()[0] in ("INSERT", "UPDATE")]
        assert [w for w in writes if w.startswith("UPDATE claim_codes")] == [
            "UPDATE claim_codes SET"
        ], events
        # the new account: inserted with its sign-in time, named after its worker record once
        assert [w for w in writes if w.startswith(("INSERT INTO users", "UPDATE users"))] == [
            "INSERT INTO users",
            "UPDATE users SET",
        ], events
        assert events.count("COMMIT") == 1
        assert len(events[events.index("COMMIT") + 1 :]) <= 1, events  # the account, signed in
        assert claimed_at(line["claim_id"]) is not None

    @staticmethod
    def post(client: Any, code: str, path: str = "/klaim") -> list[str]:
        """The statements (their first words) and commits of one claim POST, in order."""
        events: list[str] = []

        def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
            events.append(" ".join(text.split()[:3]))

        def commit(conn: Any) -> None:
            events.append("COMMIT")

        event.listen(db.engine, "before_cursor_execute", statement)
        event.listen(db.engine, "commit", commit)
        try:
            assert client.post(path, data={"code": code}).status_code == 302
        finally:
            event.remove(db.engine, "before_cursor_execute", statement)
            event.remove(db.engine, "commit", commit)
        return events


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's transactions")
class TestOutsideATransaction:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        # Jobs on a broker nobody reads, as production leaves them to Celery: an eager
        # delivery job would run its own statements on the request's connection.
        return {"RATELIMIT_ENABLED": True, "CELERY_BROKER_URL": "memory://"}

    def test_a_claim_by_sms_is_two_statements_outside_a_transaction(self, app, client):
        """On PostgreSQL the claim POST that sends a one-time code is two exchanges: the read,
        and the code with its SMS in one statement, which PostgreSQL commits by itself. No
        BEGIN and no COMMIT around them (five exchanges before), and the connection goes back
        to the pool in its usual mode."""
        seen: list[Any] = []

        def record(conn: Any, *_: Any) -> None:
            seen.append(conn.connection.dbapi_connection)

        line = build_line()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            events = TestStatements.post(client, line["code"])
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert [e.split()[0] for e in events] == ["SELECT", "WITH", "COMMIT"], events
        pids = {raw.info.backend_pid for raw in seen}
        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql")) as observer:
            activity = observer.execute(
                "SELECT state, query FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)]
            ).fetchall()
        # In a transaction the backend's last statement would be the COMMIT that ended it.
        assert len(activity) == 1 and activity[0][0] == "idle", activity
        assert activity[0][1].startswith("WITH"), activity
        assert not any(raw.autocommit for raw in seen)
        assert messages_to(line["phone"], "sign_in") == 1


# --- reach ------------------------------------------------------------------------------------


def page_weight(client: Any, path: str) -> int:
    html = client.get(path)
    assert html.status_code == 200
    total = len(html.data)
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))[^"]*"', html.text):
        static = client.get(asset)
        assert static.status_code == 200
        total += len(static.data)
        static.close()
    return total


def test_claim_and_card_pages_weigh_under_60_kb(app, client):
    line = build_line()
    assert page_weight(client, "/klaim") < 60 * 1024
    claim(client, line)
    assert page_weight(client, f"/saya/paket/{line['claim_id']}/kartu") < 60 * 1024
    assert page_weight(client, f"/saya/paket/{line['claim_id']}") < 60 * 1024


class TestCsrf:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"WTF_CSRF_ENABLED": True}

    def test_the_claim_forms_need_a_csrf_token(self, app, client):
        line = build_line()
        before = messages()
        assert client.post("/klaim", data={"code": line["code"]}).status_code == 400
        assert client.post("/klaim/kode", data={"code": "123456"}).status_code in (302, 400)
        assert messages() == before and claimed_at(line["claim_id"]) is None
