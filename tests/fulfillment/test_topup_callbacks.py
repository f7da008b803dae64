"""Bulk top-ups settled by the telco's one callback per batch: the callback settles every part
it names once, a repeat or a callback that loses the race with the fallback poll changes
nothing, a lost callback is covered by one batched poll after FULFILLMENT_CALLBACK_WAIT_S, one
failed number (or one part that cannot be recorded) stays with its part, and every bad callback
is refused whole."""

import json
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from bundles.models import FulfillmentMethod
from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from extensions import db
from fulfillment import clock, services, sweeper
from fulfillment.batches import chunks
from fulfillment.models import ClaimCode, EventKind, FulfillmentEvent, ItemStatus
from fulfillment.services import start_fulfillment
from messaging.models import Message
from sandbox.topups import INACTIVE_TEST_MSISDN
from sponsorship.checkout.models import Order, OrderStatus
from tests.fulfillment.batch_support import _no_item_faults  # noqa: F401 (fixture)
from tests.fulfillment.batch_support import count_rows as _count
from tests.fulfillment.batch_support import items as _items
from tests.fulfillment.callback_support import post_callback, post_signed
from tests.fulfillment.conftest import fulfillment_config
from tests.fulfillment.support import make_combofit, make_paid_order, make_workers

WAIT_S = 60


@pytest.fixture
def app_config(sandbox, localstripe, receiver):
    return fulfillment_config(sandbox, localstripe) | {
        "PARTNER_BATCH_APIS": ["telco", "insurer"],
        "PARTNER_CALLBACK_BASE_URL": receiver.base_url,
        "FULFILLMENT_CALLBACK_WAIT_S": WAIT_S,
    }


def _paid(workers: int = 5, *, inactive: int | None = None) -> Order:
    combo = make_combofit(codes=workers + 2)
    people = make_workers(workers)
    if inactive is not None:  # the sandbox ends a top-up to this number "failed"
        people[inactive].phone_e164 = INACTIVE_TEST_MSISDN
    order = make_paid_order(combo.bundle, people)
    start_fulfillment(order)
    db.session.commit()
    return order


def _telco_requests(sandbox) -> int:
    return sandbox.stats()["requests"]["by_api"].get("telco", 0)


def _issued_events() -> dict[int, int]:
    return dict(
        db.session.execute(
            select(FulfillmentEvent.item_id, func.count())
            .where(FulfillmentEvent.kind == EventKind.ISSUED)
            .group_by(FulfillmentEvent.item_id)
        ).all()
    )


def _snapshot() -> tuple:
    """What a refused callback must leave as it was."""
    db.session.expire_all()
    return (
        [(i.id, i.status, i.partner_reference, i.delivery) for i in _items()],
        _count(FulfillmentEvent),
        _count(ClaimCode),
        _count(Message),
    )


def test_the_batch_callback_settles_every_topup_once_and_nothing_is_polled(
    app, sandbox, client, receiver
):
    order = _paid()
    topups = _items(FulfillmentMethod.PARTNER_API)
    assert {t.status for t in topups} == {ItemStatus.AWAITING_PARTNER}
    [batch_id] = {t.partner_batch_id for t in topups}
    assert batch_id.startswith("tb_")
    # Waiting for the callback, not polling: the fallback is a whole wait away.
    assert min(t.next_attempt_at for t in topups) >= clock.now().replace(microsecond=0)

    callback = receiver.next()
    assert callback.path == "/api/callbacks/telco/batch"
    verify(
        sandbox.secrets["telco"].encode(),
        callback.headers[TIMESTAMP_HEADER],
        callback.body,
        callback.headers[SIGNATURE_HEADER],
    )
    body = callback.json()
    assert body["batch_id"] == batch_id
    assert {r["reference"] for r in body["results"]} == {t.idempotency_key for t in topups}

    answer = post_callback(client, callback)
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "settled": 5}
    db.session.expire_all()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    assert all(t.delivery["serial_number"].startswith("SN") for t in _items("partner_api"))
    assert _count(ClaimCode) == 5
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLED

    # Past the fallback time: nothing is left to poll, the telco saw one request in all.
    clock.advance(WAIT_S * 2)
    sweeper.sweep()
    db.session.commit()
    assert _telco_requests(sandbox) == 1
    assert sandbox.stats()["effects_by_kind"]["telco.topup"] == 5


def test_a_repeated_callback_changes_nothing(app, sandbox, client, receiver):
    _paid()
    callback = receiver.next()
    assert post_callback(client, callback).status_code == 200
    before = _snapshot()
    again = post_callback(client, callback)
    assert again.status_code == 200
    assert again.json["settled"] == 0
    assert _snapshot() == before
    assert set(_issued_events().values()) == {1}


def test_a_callback_after_the_fallback_poll_changes_nothing(app, sandbox, client, receiver):
    _paid()
    callback = receiver.next()  # held back: it comes late
    clock.advance(WAIT_S + 1)
    sweeper.sweep()  # the fallback: one status query for the whole batch
    db.session.commit()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    assert _telco_requests(sandbox) == 2
    before = _snapshot()

    late = post_callback(client, callback)
    assert late.status_code == 200
    assert late.json["settled"] == 0
    assert _snapshot() == before


def test_a_callback_racing_the_fallback_poll_settles_each_part_once(
    app, sandbox, client, receiver, monkeypatch
):
    _paid()
    monkeypatch.setattr(services, "enqueue_items", lambda ids, **_: None)  # the thread polls
    callback = receiver.next()
    ids = [t.id for t in _items(FulfillmentMethod.PARTNER_API)]
    db.session.commit()
    clock.advance(WAIT_S + 1)
    # The poll holds the parts' locks while the telco is slow to answer it.
    sandbox.set_faults(latency_ms=1500, paths=["/telco/v1/topups/batch-status"])
    errors: list[BaseException] = []

    def poll() -> None:
        with app.app_context():
            try:
                claimed, reconcile = chunks.note_chunk(ids)
                db.session.commit()
                chunks.run_chunk(claimed, reconcile)
                db.session.commit()
            except BaseException as error:
                db.session.rollback()
                errors.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    answer = post_callback(client, callback)
    poller.join()
    sandbox.set_faults()

    assert errors == []
    assert answer.status_code == 200
    db.session.expire_all()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    assert _issued_events() == {item.id: 1 for item in _items()}
    assert _count(ClaimCode) == 5
    assert sandbox.stats()["duplicate_effects"] == 0


def test_a_lost_callback_is_covered_by_one_batched_poll_after_the_wait(
    app, sandbox, client, receiver
):
    requests.post(
        sandbox.url("/_batch_faults"), json={"drop_callbacks": True}, timeout=10
    ).raise_for_status()
    _paid()
    deadline = time.monotonic() + 10
    while not sandbox.stats()["events"].get("faults.callback_dropped"):
        assert time.monotonic() < deadline, "the sandbox never finished the batch"
        time.sleep(0.05)
    assert receiver.received.empty()

    clock.advance(WAIT_S / 2)
    sweeper.sweep()
    db.session.commit()
    assert {t.status for t in _items("partner_api")} == {ItemStatus.AWAITING_PARTNER}
    assert _telco_requests(sandbox) == 1  # not polled before the wait is over

    clock.advance(WAIT_S / 2 + 1)
    sweeper.sweep()
    db.session.commit()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}
    assert _telco_requests(sandbox) == 2  # the bulk top-up and one status query
    assert _count(ClaimCode) == 5


def test_one_failed_number_in_a_callback_fails_only_its_part(app, sandbox, client, receiver):
    order = _paid(inactive=2)
    callback = receiver.next()
    statuses = {r["reference"]: r["status"] for r in callback.json()["results"]}
    assert sorted(statuses.values()) == ["failed"] + ["success"] * 4

    answer = post_callback(client, callback)
    assert answer.status_code == 200
    db.session.expire_all()
    topups = {t.idempotency_key: t for t in _items(FulfillmentMethod.PARTNER_API)}
    for reference, status in statuses.items():
        expected = ItemStatus.ISSUED if status == "success" else ItemStatus.FAILED
        assert topups[reference].status == expected
    [failed] = [t for t in topups.values() if t.status != ItemStatus.ISSUED]
    assert failed.last_error.startswith("msisdn_inactive")
    # Every line had parts issued: every worker gets a claim code, the failed part's money back.
    assert _count(ClaimCode) == 5
    assert db.session.get(Order, order.id).status == OrderStatus.FULFILLING


def test_a_part_that_cannot_be_recorded_is_undone_alone(
    app, sandbox, client, receiver, monkeypatch
):
    _paid()
    callback = receiver.next()
    unlucky = _items(FulfillmentMethod.PARTNER_API)[3].id
    apply_outcome = services.apply_outcome

    def breaks_on_one(item, outcome, *, now):
        apply_outcome(item, outcome, now=now)
        if item.id == unlucky:
            db.session.flush()
            raise RuntimeError("the database refused this part")

    monkeypatch.setattr(services, "apply_outcome", breaks_on_one)
    answer = post_callback(client, callback)
    assert answer.status_code == 200
    assert answer.json["settled"] == 4
    db.session.expire_all()
    topups = {t.id: t.status for t in _items(FulfillmentMethod.PARTNER_API)}
    assert topups.pop(unlucky) == ItemStatus.AWAITING_PARTNER  # the fallback poll takes it
    assert set(topups.values()) == {ItemStatus.ISSUED}
    assert _count(ClaimCode) == 4
    events = _issued_events()
    assert unlucky not in events and {events[item_id] for item_id in topups} == {1}

    monkeypatch.setattr(services, "apply_outcome", apply_outcome)
    assert post_callback(client, callback).json["settled"] == 1  # the telco's next try
    assert _count(ClaimCode) == 5


def test_a_callback_leaves_the_topups_of_a_refunded_order_to_be_closed(
    app, sandbox, client, receiver
):
    order = _paid()
    callback = receiver.next()
    db.session.get(Order, order.id).transition(OrderStatus.REFUNDED)  # refunded whole
    db.session.commit()
    answer = post_callback(client, callback)
    assert (answer.status_code, answer.json["settled"]) == (200, 0)
    db.session.expire_all()
    assert {t.status for t in _items("partner_api")} == {ItemStatus.AWAITING_PARTNER}
    assert _count(ClaimCode) == 0

    clock.advance(WAIT_S + 1)  # their next attempt closes them, not issued
    sweeper.sweep()
    db.session.commit()
    assert {t.status for t in _items("partner_api")} == {ItemStatus.REFUNDED}


def _bad_bodies(body: dict) -> dict[str, tuple[bytes, int, str]]:
    first = body["results"][0]

    def with_first(**changes: object) -> bytes:
        results = [first | changes, *body["results"][1:]]
        return json.dumps(body | {"results": results}).encode()

    return {
        "malformed JSON": (b'{"batch_id": ', 400, "invalid_json"),
        "no results": (json.dumps({"batch_id": body["batch_id"]}).encode(), 400, "invalid_body"),
        "a result without status": (with_first(status=None), 400, "invalid_body"),
        "a reference twice": (
            json.dumps(body | {"results": [first, first]}).encode(),
            400,
            "invalid_body",
        ),
        "unknown batch": (
            json.dumps(body | {"batch_id": "tb_unknown"}).encode(),
            404,
            "unknown_batch",
        ),
        "unknown item": (with_first(reference="pyg_not_ours"), 404, "unknown_item"),
        "another top-up": (with_first(topup_id="tp_someone_else"), 409, "other_topup"),
        "wrong quota": (with_first(quota_mb=first["quota_mb"] * 2), 422, "wrong_amount"),
        "wrong validity": (with_first(validity_days=365), 422, "wrong_amount"),
        "no quota": (with_first(quota_mb=None), 422, "wrong_amount"),
        "another number": (with_first(msisdn="+6281299999999"), 422, "wrong_number"),
    }


def test_every_bad_callback_is_refused_whole_and_changes_nothing(app, sandbox, client, receiver):
    _paid()
    callback = receiver.next()
    secret = sandbox.secrets["telco"]
    before = _snapshot()
    now = int(time.time())
    signed = {
        "forged": post_signed(client, "not-the-telco-secret", callback.body),
        "signed an hour ahead": post_signed(client, secret, callback.body, timestamp=now + 3600),
        "signed an hour ago": post_signed(client, secret, callback.body, timestamp=now - 3600),
        "unsigned": client.post("/api/callbacks/telco/batch", data=callback.body),
    }
    for case, answer in signed.items():
        assert answer.status_code == 401, case
    for case, (body, status, code) in _bad_bodies(callback.json()).items():
        answer = post_signed(client, secret, body)
        assert (answer.status_code, answer.json["error"]["code"]) == (status, code), case
    assert _snapshot() == before

    assert post_callback(client, callback).status_code == 200  # the real one still counts
    db.session.expire_all()
    assert {i.status for i in _items()} == {ItemStatus.ISSUED}


def test_the_sandbox_retries_its_callback_until_it_is_accepted(app, sandbox, receiver):
    receiver.answers = [503, 500]  # then 204
    _paid(workers=2)
    first, second, third = receiver.next(), receiver.next(), receiver.next(timeout=15)
    assert first.body == second.body == third.body
    deadline = time.monotonic() + 10
    while not sandbox.stats()["callbacks"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [delivery] = sandbox.stats()["callbacks"]
    assert (delivery["attempts"], delivery["delivered"]) == (3, True)
    assert receiver.received.empty()
