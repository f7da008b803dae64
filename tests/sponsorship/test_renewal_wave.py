"""The renewal wave benchmark's core at tiny size (``bench/renewal_wave.py``), so it cannot rot:
20 workers of mixed sponsors with saved cards at localstripe are renewed by the nightly run,
fulfilled through the partner batches, and the benchmark's own check finds nothing lost or
doubled — and does find it when something is."""

from dataclasses import replace

import pytest
from sqlalchemy import select

from bench.renewal_wave import CHARGE_DAY, Meter, metered, seed_wave, sponsor_sizes, verify_wave
from extensions import db
from fulfillment import clock
from sponsorship.continuity.renewals.charge import RunSummary
from sponsorship.continuity.renewals.charge_group import charge_claimed
from sponsorship.continuity.renewals.models import AttemptStatus, RenewalAttempt, RenewalPlan
from sponsorship.continuity.renewals.run import run_renewals
from sponsorship.continuity.renewals.wave import claim_periods
from sponsorship.payments.gateways import record_payment
from sponsorship.payments.stripe_gateway import gateway_from_config
from tests.fulfillment.conftest import fulfillment_config
from tests.fulfillment.support import run_until_settled


@pytest.fixture
def app_config(localstripe, sandbox):
    localstripe.flush()
    return fulfillment_config(sandbox, localstripe) | {
        "PARTNER_BATCH_APIS": ["telco", "insurer"],
        "RENEWAL_DAYS_BEFORE_LAPSE": 7,
    }


@pytest.fixture(autouse=True)
def _real_clock_again():
    yield
    clock.reset()


def test_sponsor_sizes_add_up_and_mix_companies_and_individuals():
    for workers in (1, 20, 999, 100_000):
        sizes = sponsor_sizes(workers)
        assert sum(size for _kind, size in sizes) == workers
    big = sponsor_sizes(100_000)
    assert [size for kind, size in big if kind == "company"] == [8_000] * 5
    assert sum(1 for kind, _size in big if kind == "person") == 10_000


def test_a_tiny_wave_renews_every_worker_once(app, localstripe, sandbox):
    seeded = seed_wave(20, localstripe, threads=2)
    meter = Meter()
    with metered(meter):
        summary = run_renewals(today=CHARGE_DAY)
    assert (summary.claimed, summary.charged, summary.declined) == (20, 20, 0)
    assert sum(meter.stripe_calls.values()) == 20  # one charge per plan, nothing else
    assert meter.statements["claim + orders"] > 0 and meter.statements["charges"] > 0
    assert set(meter.seconds) == {"claim + orders", "charges"}
    run_until_settled(step_s=15)

    result = verify_wave(seeded, sandbox_stats=sandbox.stats(), localstripe=localstripe)
    assert result["problems"] == []
    assert result["localstripe_succeeded_charges"] == 20
    assert run_renewals(today=CHARGE_DAY).claimed == 0  # the same night again: nothing
    # The check is not blind: a 21st worker that was never renewed is reported.
    missing = verify_wave(
        replace(seeded, workers=21), sandbox_stats=sandbox.stats(), localstripe=None
    )
    assert missing["problems"]


def test_a_claim_whose_order_was_opened_on_its_pay_page_is_not_charged_off_session(
    app, localstripe, sandbox
):
    """Between the claim and the group's charge the sponsor began paying the order on its
    page: that attempt takes the one-by-one path (no off-session charge), the other is charged."""
    seed_wave(2, localstripe, threads=1)
    attempt_ids = claim_periods(list(db.session.scalars(select(RenewalPlan.id))), CHARGE_DAY)
    db.session.commit()
    opened = db.session.get(RenewalAttempt, attempt_ids[0]).order
    intent = gateway_from_config().create_payment_intent(
        amount_idr=opened.total_idr,
        order_reference=opened.reference,
        idempotency_key=f"pay-page-{opened.id}",
        metadata={"order_reference": opened.reference},
    )
    record_payment(
        opened.id, gateway="stripe", provider_payment_id=intent.id, amount_idr=opened.total_idr
    )
    db.session.commit()

    summary = RunSummary(claimed=2)
    charge_claimed(attempt_ids, CHARGE_DAY, summary)
    db.session.expire_all()
    first, second = (db.session.get(RenewalAttempt, i) for i in attempt_ids)
    assert (first.status, first.payment_intent_id) == (AttemptStatus.ACTION_REQUIRED, None)
    assert second.status == AttemptStatus.SUCCEEDED and summary.charged == 1
    assert localstripe.request("GET", "/v1/charges?limit=10")["data"][0]["amount"] == (
        second.order.total_idr * 100
    )
    assert len(localstripe.request("GET", "/v1/charges?limit=10")["data"]) == 1
