"""Rate limits while the Redis that keeps their counts is down: every limited POST answers as
usual, never 500, and the limits still hold, counted in the process's memory (Flask-Limiter's
in-memory fallback, RATELIMIT_IN_MEMORY_FALLBACK_ENABLED). When Redis is back the counts go to
it again, read ahead in one MGET (``extensions.LeanLimiter``). The outage is logged once, as a
WARNING naming no phone number or NIK.

"Down" is a closed local port. "Down, then back" is a redis-server of the test's own on a free
port, stopped and started again (skipped without the ``redis-server`` binary).
"""

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

import tests.fulfillment.test_claim as claim_tests
from extensions import ReadAheadWindow, db, limiter
from fulfillment.claims import claiming
from fulfillment.claims.codes import generate_claim_code
from partnerhome.api.keys import create_api_key
from tests.conftest import PASSWORD
from tests.core.broker_support import logged
from tests.fulfillment.test_claim import build_line, claimed_at, messages_to, otp_sent_to
from vault import decrypt
from workers.models import Worker

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1
FALLING_BACK = "Rate limit storage unreachable - falling back to in-memory storage"


def limits_on(url: str, **config: Any) -> dict[str, Any]:
    return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url, **config}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return limits_on(DOWN, RATELIMIT_CLAIM_FAILURES="3 per hour", RATELIMIT_SIGN_IN="3 per hour")


@pytest.fixture
def limiter_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return logged(caplog, "flask-limiter", logging.WARNING)


def assert_no_phone_or_nik_logged(caplog: pytest.LogCaptureFixture, worker: Worker) -> None:
    logged = "\n".join(record.getMessage() for record in caplog.records)
    national = "0" + worker.phone_e164.removeprefix("+62")
    nik = decrypt(worker.nik_encrypted)
    assert len(nik) == 16
    for number in (worker.phone_e164, worker.phone_e164.lstrip("+"), national, nik):
        assert number not in logged


class TestClaimLimitsWithRedisDown(claim_tests.TestRateLimits):
    """Every rule of the claim's limits (test_claim.TestRateLimits), while Redis is down."""

    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return limits_on(
            DOWN, RATELIMIT_CLAIM_FAILURES="3 per hour", RATELIMIT_CLAIM_SMS="2 per hour"
        )


def test_a_claim_with_redis_down_sends_its_code_and_claims_and_logs_the_outage_once(
    app, client, limiter_log
) -> None:
    line = build_line()
    response = client.post("/klaim", data={"code": line["code"]})
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/klaim/kode"
    assert messages_to(line["phone"], "sign_in") == 1
    assert client.post("/klaim/kode", data={"code": "000000"}).status_code == 422
    response = client.post("/klaim/kode", data={"code": otp_sent_to(line["phone"])})
    assert response.status_code == 302, response.text
    assert claimed_at(line["claim_id"]) is not None
    assert outage_warnings(limiter_log) == [FALLING_BACK]  # three requests, one outage
    assert_no_phone_or_nik_logged(limiter_log, db.session.get(Worker, line["worker_id"]))


def test_wrong_codes_from_one_address_still_trip_its_limit_with_redis_down(app, client) -> None:
    codes = [client.post("/klaim", data={"code": generate_claim_code()}).status_code for _ in "abc"]
    assert codes == [422, 422, 422]
    refused = client.post("/klaim", data={"code": build_line()["code"]})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3000  # 3 per hour: wait for the hour
    other = client.post(
        "/klaim", data={"code": generate_claim_code()}, environ_base={"REMOTE_ADDR": "10.0.0.7"}
    )
    assert other.status_code == 422  # another address has its own budget


def test_wrong_passwords_are_limited_and_the_right_one_works_with_redis_down(
    app, client, make_user
) -> None:
    sponsor = make_user()
    wrong = {"email": sponsor.email, "password": "not the password"}
    assert [client.post("/masuk", data=wrong).status_code for _ in "abc"] == [200, 200, 200]
    assert client.post("/masuk", data=wrong).status_code == 429
    elsewhere = app.test_client()
    response = elsewhere.post(
        "/masuk",
        data={"email": sponsor.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.8"},
    )
    assert response.status_code == 302, response.text


class TestOneTimeCodeRequestsWithRedisDown:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return limits_on(DOWN, RATELIMIT_OTP_REQUEST="2 per 15 minutes")

    def test_asking_for_codes_answers_then_is_limited(self, app, client) -> None:
        statuses = [
            client.post("/masuk/pekerja", data={"phone": f"0812-3456-78{n:02d}"}).status_code
            for n in range(3)
        ]
        assert statuses == [302, 302, 429]
        assert messages_to("+6281234567800", "sign_in") == 1
        assert messages_to("+6281234567802", "sign_in") == 0


class TestPartnerApiWithRedisDown:
    @pytest.fixture
    def app_config(self) -> dict[str, Any]:
        return limits_on(DOWN, RATELIMIT_PARTNER_API="3 per minute")

    def test_the_api_answers_and_its_budget_per_key_holds(self, app, client, make_partner):
        partner = make_partner()
        _key, plain = create_api_key(partner, name="test", created_by_id=None)
        db.session.commit()
        auth = {"Authorization": f"Bearer {plain}"}
        statuses = [client.get("/api/v1/offers", headers=auth).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        answer = client.get("/api/v1/offers", headers=auth)
        assert answer.get_json()["error"]["code"] == "rate_limited"
        assert answer.headers["X-RateLimit-Remaining"] == "0"


# --- Redis down, then back: a redis-server of the test's own ---------------------------------


class PrivateRedis:
    """A redis-server on a free local port, without persistence, that the test stops and
    starts again on the same port."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def command_calls(self, name: str) -> int:
        client = redis.Redis.from_url(self.url)
        calls = client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0)
        client.close()
        return int(calls)

    def count_keys(self) -> int:
        client = redis.Redis.from_url(self.url)
        found = len(list(client.scan_iter("LIMITS:*")))
        client.close()
        return found


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary on this machine")
    server = PrivateRedis(binary)
    server.start()
    yield server
    server.stop()


class TestRedisDownThenBack:
    @pytest.fixture
    def app_config(self, private_redis: PrivateRedis) -> dict[str, Any]:
        return limits_on(private_redis.url, RATELIMIT_CLAIM_FAILURES="3 per hour")

    @staticmethod
    def guess(client: Any, address: str) -> int:
        response = client.post(
            "/klaim", data={"code": generate_claim_code()}, environ_base={"REMOTE_ADDR": address}
        )
        return int(response.status_code)

    def test_limits_count_in_memory_while_redis_is_down_and_in_redis_again_after(
        self, app, client, private_redis, limiter_log
    ) -> None:
        assert self.guess(client, "10.0.1.1") == 422
        assert private_redis.count_keys() == 1  # counted in Redis
        private_redis.stop()
        # Down: the same limit, counted in memory; one warning.
        assert [self.guess(client, "10.0.1.2") for _ in range(4)] == [422, 422, 422, 429]
        assert outage_warnings(limiter_log) == [FALLING_BACK]

        private_redis.start()  # empty: it kept nothing
        # Flask-Limiter pings the storage before a limited request once its backoff has
        # passed (1, 2, 4 … 32 s after the last ping): within seconds here.
        deadline = time.monotonic() + 70
        statuses = []
        while private_redis.count_keys() == 0:
            assert time.monotonic() < deadline, statuses
            time.sleep(0.5)
            statuses.append(self.guess(client, f"10.0.2.{len(statuses) + 1}"))
        assert set(statuses) == {422}
        assert any("Rate limit storage recovered" in r.getMessage() for r in limiter_log.records)

        # Back on Redis, through the lean path: the counts read ahead in one MGET.
        assert isinstance(limiter.limiter, ReadAheadWindow)
        mgets = private_redis.command_calls("mget")
        line = build_line()
        response = client.post("/klaim", data={"code": line["code"]})
        assert response.status_code == 302, response.text
        assert private_redis.command_calls("mget") == mgets + 1
        assert any(
            key.startswith(b"LIMITS:LIMITER/claim-phone:")
            for key in redis.Redis.from_url(private_redis.url).scan_iter("LIMITS:*")
        )
        # The address counted in memory during the outage starts afresh on Redis.
        assert self.guess(client, "10.0.1.2") == 422
        assert outage_warnings(limiter_log) == [FALLING_BACK]

        # A second outage is logged again, once.
        private_redis.stop()
        assert [self.guess(client, "10.0.3.1") for _ in range(2)] == [422, 422]
        assert outage_warnings(limiter_log) == [FALLING_BACK, FALLING_BACK]

    def test_redis_lost_between_the_test_and_the_count_counts_in_memory(
        self, app, client, private_redis, monkeypatch, limiter_log
    ) -> None:
        # The limits were read from Redis before the view; Redis goes away while the view
        # runs, so the wrong code's count (after the answer, one pipeline) cannot reach it.
        start_claim = claiming.start_claim

        def redis_lost_meanwhile(*args: Any, **kwargs: Any) -> Any:
            private_redis.stop()
            return start_claim(*args, **kwargs)

        monkeypatch.setattr(claiming, "start_claim", redis_lost_meanwhile)
        assert self.guess(client, "10.0.4.1") == 422  # not 500
        assert outage_warnings(limiter_log) == [FALLING_BACK]
        monkeypatch.setattr(claiming, "start_claim", start_claim)
        # That count was made in memory: two more guesses reach 3 per hour.
        assert [self.guess(client, "10.0.4.1") for _ in range(3)] == [422, 422, 429]
        assert outage_warnings(limiter_log) == [FALLING_BACK]
