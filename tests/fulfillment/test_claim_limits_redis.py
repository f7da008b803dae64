"""The claim pages' rate limits with their counts in Redis, as production keeps them (every
other test counts in memory): the same answers, in fewer round trips. ``LeanLimiter`` reads the
counts a request tests in one MGET and counts what is due after the answer in one pipeline
(``extensions.ReadAheadWindow``).

Needs the Redis of the machine (``PAYUNG_TEST_REDIS_LIMITS``, database 8 by default). The keys
are under a prefix per test process, emptied before and after each test: Flask-Limiter keeps the
first prefix it is given for the process (its extension object outlives every test app).
"""

import os
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from redis.connection import AbstractConnection
from sqlalchemy import select

import tests.fulfillment.test_claim as claim_tests
from accounts.models import OneTimeCode
from extensions import ReadAheadWindow, db, limiter
from fulfillment.claims.codes import generate_claim_code
from tests.fulfillment.test_claim import build_line, messages_to, otp_sent_to

LIMITS_URL = os.environ.get("PAYUNG_TEST_REDIS_LIMITS", "redis://127.0.0.1:6379/8")
PREFIX = f"test{os.getpid()}"


def empty(prefix: str) -> None:
    store = redis.Redis.from_url(LIMITS_URL)
    keys = list(store.scan_iter(f"LIMITS:LIMITER/{prefix}/*"))
    if keys:
        store.delete(*keys)
    store.close()


@pytest.fixture
def key_prefix() -> Iterator[str]:
    empty(PREFIX)
    yield PREFIX
    empty(PREFIX)


def on_redis(prefix: str, **config: Any) -> dict[str, Any]:
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": LIMITS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        **config,
    }


class TestRateLimitsOnRedis(claim_tests.TestRateLimits):
    """Every rule of the claim's limits (test_claim.TestRateLimits), counted in Redis."""

    @pytest.fixture
    def app_config(self, key_prefix: str) -> dict[str, Any]:
        return on_redis(
            key_prefix, RATELIMIT_CLAIM_FAILURES="3 per hour", RATELIMIT_CLAIM_SMS="2 per hour"
        )


@pytest.fixture
def app_config(key_prefix: str) -> dict[str, Any]:
    return on_redis(key_prefix)


@pytest.fixture
def round_trips(app, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The commands sent to Redis, one entry per round trip (a pipeline sends all of its
    commands at once). Jobs run eagerly here: the limits are the only ones talking to Redis."""
    sent: list[bytes] = []
    send = AbstractConnection.send_packed_command

    def counted(self: AbstractConnection, command: Any, *args: Any, **kwargs: Any) -> None:
        parts = [command] if isinstance(command, bytes | str) else list(command)
        sent.append(b"".join(p if isinstance(p, bytes) else str(p).encode() for p in parts))
        send(self, command, *args, **kwargs)

    limiter.limiter.storage.get_connection().ping()  # connected (its handshake not counted)
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    return sent


def counts(prefix: str) -> dict[str, int]:
    store = redis.Redis.from_url(LIMITS_URL, decode_responses=True)
    found = {
        key.split("/", 2)[2]: int(store.get(key) or 0)
        for key in store.scan_iter(f"LIMITS:LIMITER/{prefix}/*")
    }
    store.close()
    return found


def test_limits_on_redis_read_ahead_under_this_process_prefix(app) -> None:
    assert isinstance(limiter.limiter, ReadAheadWindow)
    assert limiter._key_prefix == PREFIX  # else the tests below would share counts


def test_a_claim_post_that_sends_a_code_makes_two_round_trips_to_the_limits(
    app, client, key_prefix, round_trips
) -> None:
    line = build_line()
    round_trips.clear()
    response = client.post("/klaim", data={"code": line["code"]})
    assert response.status_code == 302, response.text
    # One MGET for the three limits it tests (the address's failures, the phone's SMS per
    # hour and per day), then one pipeline counting the SMS sent in both of the phone's windows.
    assert len(round_trips) == 2, round_trips
    assert round_trips[0].count(b"MGET") == 1 and round_trips[0].count(b"LIMITS:") == 3
    assert round_trips[1].count(b"EVALSHA") == 2
    phone = [n for key, n in counts(key_prefix).items() if key.startswith("claim-phone:")]
    assert sorted(phone) == [1, 1]
    assert messages_to(line["phone"], "sign_in") == 1


def test_a_guess_is_counted_once_in_one_round_trip_more(
    app, client, key_prefix, round_trips
) -> None:
    round_trips.clear()
    response = client.post("/klaim", data={"code": generate_claim_code()})
    assert response.status_code == 422
    assert len(round_trips) == 2, round_trips  # the MGET, then the failure's count
    assert counts(key_prefix) == {"127.0.0.1/claim-failures/10/1/hour": 1}


def test_wrong_one_time_codes_count_per_address_and_phone_together(
    app, client, key_prefix, round_trips
) -> None:
    line = build_line()
    client.post("/klaim", data={"code": line["code"]})
    round_trips.clear()
    response = client.post("/klaim/kode", data={"code": "000000"})
    assert response.status_code == 422
    assert len(round_trips) == 2, round_trips  # one MGET, one pipeline of two counts
    found = counts(key_prefix)
    assert found["127.0.0.1/claim-failures/10/1/hour"] == 1
    assert [n for key, n in found.items() if key.startswith("phone:")] == [1]
    # and the right code still claims
    response = client.post("/klaim/kode", data={"code": otp_sent_to(line["phone"])})
    assert response.status_code == 302, response.text


def test_scripts_redis_lost_are_loaded_again_and_each_count_made_once(
    app, client, key_prefix
) -> None:
    # A restarted Redis has no scripts. Told to call one it never had, the counter meets what
    # it would meet then (NOSCRIPT), without flushing the scripts of tests running beside it.
    script = limiter.limiter.storage.lua_incr_expire
    line = build_line()
    script.sha = secrets.token_hex(20)  # no script has this digest
    assert client.post("/klaim", data={"code": line["code"]}).status_code == 302
    phone = {key: n for key, n in counts(key_prefix).items() if key.startswith("claim-phone:")}
    assert sorted(phone.values()) == [1, 1]
    for otp in db.session.scalars(select(OneTimeCode)):  # after the resend wait
        otp.created_at -= timedelta(minutes=2)
    db.session.commit()
    script.sha = secrets.token_hex(20)  # no script has this digest
    assert client.post("/klaim", data={"code": line["code"]}).status_code == 302
    phone = {key: n for key, n in counts(key_prefix).items() if key.startswith("claim-phone:")}
    assert sorted(phone.values()) == [2, 2]


def test_a_limit_reached_is_refused_with_its_wait_from_the_counts_read_ahead(
    app, client, key_prefix
) -> None:
    # The IP's failure budget spent by another process of the same server: the counts read
    # ahead see it, and the 429 says how long to wait.
    store = redis.Redis.from_url(LIMITS_URL)
    key = f"LIMITS:LIMITER/{key_prefix}/127.0.0.1/claim-failures/10/1/hour"
    store.set(key, 10, ex=1800)
    response = client.post("/klaim", data={"code": build_line()["code"]})
    assert response.status_code == 429
    assert 1700 <= int(response.headers["Retry-After"]) <= 1801  # rounded up
    store.set(key, 9, ex=1800)
    response = client.post("/klaim", data={"code": build_line()["code"]})
    assert response.status_code == 302, response.text
    store.delete(key)


def test_counts_that_cannot_be_read_ahead_are_read_one_at_a_time(
    app, client, key_prefix, round_trips, monkeypatch
) -> None:
    def broken(self: ReadAheadWindow, keys: Any) -> dict[str, int]:
        raise redis.ConnectionError("the MGET was lost")

    monkeypatch.setattr(ReadAheadWindow, "read_counts", broken)
    line = build_line()
    round_trips.clear()
    response = client.post("/klaim", data={"code": line["code"]})
    assert response.status_code == 302, response.text
    assert len(round_trips) == 4, round_trips  # three GETs, then the pipeline
    assert sum(b"GET" in sent and b"MGET" not in sent for sent in round_trips) == 3
    phone = [n for key, n in counts(key_prefix).items() if key.startswith("claim-phone:")]
    assert sorted(phone) == [1, 1]
