"""Nobody can lock a worker out (issue 13, item 2): limits key on the real client behind a
trusted proxy, count wrong codes rather than requests, a stranger cannot spend a worker's
one-time-code budget, a resend waits with a visible countdown, and the 429 page says how long
to wait and keeps what was typed. Limits as shipped for production unless a test says so."""

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import OneTimeCode, Role
from extensions import db
from fulfillment.claims.codes import generate_claim_code
from fulfillment.models import ClaimCode
from messaging.models import Message
from tests.accounts.test_worker_sign_in import is_signed_in, last_code
from tests.conftest import PASSWORD
from tests.fulfillment.test_claim import build_line, otp_sent_to

PROXY = {"REMOTE_ADDR": "10.0.0.1"}  # the TLS proxy every visitor comes through
VICTIM = "+6281234567890"


def via_proxy(client: Any, path: str, client_ip: str, **data: str) -> Any:
    return client.post(path, data=data, environ_base=PROXY, headers={"X-Forwarded-For": client_ip})


def guess(client: Any, client_ip: str) -> int:
    return via_proxy(client, "/klaim", client_ip, code=generate_claim_code()).status_code


def claimed(claim_id: int) -> bool:
    db.session.expire_all()
    return (
        db.session.scalar(select(ClaimCode.claimed_at).where(ClaimCode.id == claim_id)) is not None
    )


def sms_to(phone: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Message).where(Message.recipient == phone)
    )


def age_codes(phone: str, seconds: int) -> None:
    """Move the phone's codes into the past, as if ``seconds`` had passed."""
    for otp in db.session.scalars(select(OneTimeCode).where(OneTimeCode.phone_e164 == phone)):
        otp.created_at -= timedelta(seconds=seconds)
    db.session.commit()


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class TestBehindOneTrustedProxy:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "TRUSTED_PROXIES": 1}

    def test_each_client_has_its_own_budget(self, app):
        line = build_line()
        guesser = app.test_client()
        assert [guess(guesser, "203.0.113.5") for _ in range(10)] == [422] * 10
        assert guess(guesser, "203.0.113.5") == 429
        owner = app.test_client()  # another visitor, through the same proxy
        assert via_proxy(owner, "/klaim", "198.51.100.7", code=line["code"]).status_code == 302
        response = via_proxy(owner, "/klaim/kode", "198.51.100.7", code=otp_sent_to(line["phone"]))
        assert response.headers["Location"] == f"/saya/paket/{line['claim_id']}"
        assert claimed(line["claim_id"])


class TestWithoutTrustedProxies:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}  # TRUSTED_PROXIES as shipped: 0

    def test_shipped_default_trusts_no_proxy(self, app):
        assert app.config["TRUSTED_PROXIES"] == 0

    def test_a_forged_x_forwarded_for_buys_no_budget(self, app):
        guesser = app.test_client()
        assert [guess(guesser, "203.0.113.5") for _ in range(10)] == [422] * 10
        assert [guess(guesser, f"198.51.100.{n}") for n in range(3)] == [429] * 3


class TestClaimCountsGuessesNotTypos:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    def test_typos_never_count_and_the_right_code_still_claims(self, app, client):
        line = build_line()
        code = line["code"].replace("-", "")
        typo = code[:3] + ("1" if code[3] != "1" else "2") + code[4:]  # caught by the check
        statuses = {client.post("/klaim", data={"code": typo}).status_code for _ in range(15)}
        statuses |= {client.post("/klaim", data={"code": "ABC"}).status_code for _ in range(5)}
        assert statuses == {422}
        # nine real guesses on top still leave the budget for the right code
        assert [
            client.post("/klaim", data={"code": generate_claim_code()}).status_code
            for _ in range(9)
        ] == [422] * 9
        assert client.post("/klaim", data={"code": line["code"]}).status_code == 302
        response = client.post("/klaim/kode", data={"code": otp_sent_to(line["phone"])})
        assert response.status_code == 302
        assert claimed(line["claim_id"])


class TestSignInCountsFailures:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "3 per minute"}

    def test_many_workers_behind_one_address_are_not_blocked_by_right_codes(self, app):
        for n in range(5):  # one shared address (a school, a mosque, mobile carrier NAT)
            worker = app.test_client()
            phone = f"08123456780{n}"
            assert worker.post("/masuk/pekerja", data={"phone": phone}).status_code == 302
            wrong = "000000" if last_code(f"+62{phone[1:]}") != "000000" else "111111"
            if n < 2:  # a couple of typos on the way
                assert worker.post("/masuk/pekerja/kode", data={"code": wrong}).status_code == 200
            response = worker.post(
                "/masuk/pekerja/kode", data={"code": last_code(f"+62{phone[1:]}")}
            )
            assert response.status_code == 302, n
            assert is_signed_in(worker)

    def test_right_passwords_never_count(self, app, make_user):
        user = make_user(Role.SPONSOR)
        for _ in range(5):
            client = app.test_client()
            response = client.post("/masuk", data={"email": user.email, "password": PASSWORD})
            assert response.status_code == 302


class TestStrangerCannotSpendAWorkersCodes:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    def test_codes_asked_for_a_victim_from_many_addresses_do_not_lock_the_victim(self, app):
        stranger = app.test_client()
        for n in range(30):
            stranger.post(
                "/masuk/pekerja",
                data={"phone": VICTIM},
                environ_base={"REMOTE_ADDR": f"10.6.{n}.9"},
            )
        assert sms_to(VICTIM) == 1  # the resend wait spaces them: no SMS flood either

        victim = app.test_client()
        at_home = {"REMOTE_ADDR": "10.9.9.9"}
        response = victim.post("/masuk/pekerja", data={"phone": VICTIM}, environ_base=at_home)
        assert response.headers["Location"] == "/masuk/pekerja/kode"
        response = victim.post(
            "/masuk/pekerja/kode", data={"code": last_code(VICTIM)}, environ_base=at_home
        )
        assert response.status_code == 302
        assert is_signed_in(victim)

    def test_the_victim_gets_a_fresh_code_after_the_wait_whatever_the_stranger_asked(self, app):
        stranger = app.test_client()
        for round_ in range(8):  # more than the old 5 per 15 minutes per phone
            stranger.post(
                "/masuk/pekerja",
                data={"phone": VICTIM},
                environ_base={"REMOTE_ADDR": f"10.7.{round_}.9"},
            )
            age_codes(VICTIM, 61)
        assert sms_to(VICTIM) == 8
        victim = app.test_client()
        response = victim.post("/masuk/pekerja", data={"phone": VICTIM})
        assert response.status_code == 302
        assert sms_to(VICTIM) == 9
        assert (
            victim.post("/masuk/pekerja/kode", data={"code": last_code(VICTIM)}).status_code == 302
        )
        assert is_signed_in(victim)


class TestWrongCodesLockAPhoneForAWhileOnly:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True}

    def test_wrong_codes_from_many_addresses_count_for_the_phone(self, app):
        stranger = app.test_client()
        statuses = []
        for n in range(12):
            ip = {"REMOTE_ADDR": f"10.8.{n}.9"}
            stranger.post("/masuk/pekerja", data={"phone": VICTIM}, environ_base=ip)
            wrong = "000000" if last_code(VICTIM) != "000000" else "111111"
            statuses.append(
                stranger.post(
                    "/masuk/pekerja/kode", data={"code": wrong}, environ_base=ip
                ).status_code
            )  # every fifth wrong code kills that code: the next ask sends a fresh one
        assert statuses[:10] == [200] * 10
        assert statuses[10:] == [429, 429]
        page = visible_text(stranger.post("/masuk/pekerja/kode", data={"code": "123456"}).text)
        assert re.search(r"Tunggu \d+ (menit|jam)", page)


class TestResendCountdown:
    def test_the_countdown_is_shown_and_enforced(self, app, client):
        client.post("/masuk/pekerja", data={"phone": VICTIM})
        first = last_code(VICTIM)
        page = visible_text(client.get("/masuk/pekerja/kode").text)
        assert "Kirim ulang dalam 60 detik" in page

        response = client.post("/masuk/pekerja/kirim-ulang")
        assert response.headers["Location"] == "/masuk/pekerja/kode"
        assert sms_to(VICTIM) == 1
        page = visible_text(client.get("/masuk/pekerja/kode").text)
        assert re.search(r"Kirim ulang dalam (\d|[1-5]\d|60) detik", page)

        age_codes(VICTIM, 61)
        assert "Kirim ulang dalam" not in visible_text(client.get("/masuk/pekerja/kode").text)
        client.post("/masuk/pekerja/kirim-ulang")
        assert sms_to(VICTIM) == 2
        assert client.post("/masuk/pekerja/kode", data={"code": first}).status_code == 200
        response = client.post("/masuk/pekerja/kode", data={"code": last_code(VICTIM)})
        assert response.status_code == 302

    def test_a_code_killed_by_wrong_tries_can_be_replaced_at_once(self, app, client):
        client.post("/masuk/pekerja", data={"phone": VICTIM})
        wrong = "000000" if last_code(VICTIM) != "000000" else "111111"
        for _ in range(5):
            client.post("/masuk/pekerja/kode", data={"code": wrong})
        client.post("/masuk/pekerja/kirim-ulang")
        assert sms_to(VICTIM) == 2


class TestTooManyTriesPage:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_SIGN_IN": "2 per minute"}

    def test_claim_page_says_the_wait_in_indonesian_and_keeps_the_code(self, app, client):
        for _ in range(10):
            client.post("/klaim", data={"code": generate_claim_code()})
        typed = "ABCD-EFGH-JKMN-PQRS-T"
        response = client.post("/klaim", data={"code": typed})
        assert response.status_code == 429
        assert 0 < int(response.headers["Retry-After"]) <= 3600
        page = visible_text(response.text)
        assert "Terlalu banyak percobaan" in page
        assert re.search(r"Tunggu (\d+ menit|1 jam)", page)
        assert f'value="{typed}"' in response.text

    def test_sign_in_page_keeps_the_email_and_speaks_english_when_chosen(
        self, app, client, make_user
    ):
        user = make_user(Role.SPONSOR)
        client.post("/bahasa", data={"lang": "en"})
        for _ in range(2):
            client.post("/masuk", data={"email": user.email, "password": "wrong guess"})
        response = client.post("/masuk", data={"email": user.email, "password": "another"})
        assert response.status_code == 429
        assert 0 < int(response.headers["Retry-After"]) <= 60
        page = visible_text(response.text)
        assert re.search(r"Too many tries\. Please wait (\d+ seconds|1 minute)", page)
        assert f'value="{user.email}"' in response.text

    def test_worker_code_page_keeps_the_typed_code(self, app, client):
        client.post("/masuk/pekerja", data={"phone": VICTIM})
        wrong = "000000" if last_code(VICTIM) != "000000" else "111111"
        for _ in range(2):
            client.post("/masuk/pekerja/kode", data={"code": wrong})
        response = client.post("/masuk/pekerja/kode", data={"code": "424242"})
        assert response.status_code == 429
        assert "Retry-After" in response.headers
        assert "Terlalu banyak percobaan" in visible_text(response.text)
        assert 'value="424242"' in response.text
        assert "+62 812-••••-890" in response.text  # the same page, not a bare error
