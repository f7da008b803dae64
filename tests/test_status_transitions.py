"""Payment, Message and Remittance statuses change only through their model's ``transition``
(as Order and FulfillmentItem do): an illegal move raises and changes nothing, and no module
outside the models assigns ``.status`` directly."""

import ast
from pathlib import Path

import pytest
from sqlalchemy import select

from core.errors import IllegalTransition
from extensions import db
from fulfillment.models import Remittance, RemittanceStatus
from messaging.models import Channel, Message, MessageStatus
from sponsorship.checkout.models import Order, Payment, PaymentStatus, mark_payment_succeeded

ROOT = Path(__file__).resolve().parent.parent


def test_a_payment_moves_only_as_its_table_allows():
    payment = Payment(status=PaymentStatus.PENDING)
    payment.transition(PaymentStatus.FAILED)
    payment.transition(PaymentStatus.FAILED)  # another card refused
    payment.transition(PaymentStatus.SUCCEEDED)
    with pytest.raises(IllegalTransition):
        payment.transition(PaymentStatus.CANCELLED)
    assert payment.status == PaymentStatus.SUCCEEDED


def test_the_bulk_update_marking_a_payment_succeeded_keeps_to_the_table(app, make_user):
    order = Order(reference="PAY-T-0001", sponsor_id=make_user().id, total_idr=16_800)
    db.session.add(order)
    db.session.flush()
    for intent_id, status in (("pi_failed", PaymentStatus.FAILED), ("pi_gone", "cancelled")):
        db.session.add(
            Payment(
                order_id=order.id, provider_payment_id=intent_id, amount_idr=16_800, status=status
            )
        )
    db.session.commit()
    mark_payment_succeeded("pi_failed")
    mark_payment_succeeded("pi_gone")
    db.session.commit()
    db.session.expire_all()
    statuses = dict(db.session.execute(select(Payment.provider_payment_id, Payment.status)).all())
    assert statuses == {"pi_failed": "succeeded", "pi_gone": "cancelled"}


def test_a_remittance_never_goes_back_to_accepted():
    remittance = Remittance(status=RemittanceStatus.ACCEPTED)
    remittance.transition(RemittanceStatus.MISMATCH)
    remittance.transition(RemittanceStatus.CONFIRMED)  # a corrected confirmation file
    with pytest.raises(IllegalTransition):
        remittance.transition(RemittanceStatus.ACCEPTED)
    assert remittance.status == RemittanceStatus.CONFIRMED


def test_a_delivered_message_never_moves_again(app):
    message = Message(channel=Channel.SMS, recipient="+6281234567890", body="hi", purpose="test")
    db.session.add(message)
    message.transition(MessageStatus.SENT)
    message.transition(MessageStatus.DELIVERED)
    db.session.commit()
    for wanted in (MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.FAILED):
        with pytest.raises(IllegalTransition):
            message.transition(wanted)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Message, message.id).status == MessageStatus.DELIVERED


def test_a_sent_message_may_fail_or_go_back_to_the_queue_for_its_fallback(app):
    message = Message(channel=Channel.WHATSAPP, recipient="+6281234567890", body="hi", purpose="t")
    message.transition(MessageStatus.SENT)
    message.transition(MessageStatus.FAILED)  # the provider reported it undeliverable
    message.transition(MessageStatus.QUEUED)  # again, on SMS
    message.transition(MessageStatus.SENT)
    message.transition(MessageStatus.QUEUED)  # not delivered in time: on the fallback
    assert message.status == MessageStatus.QUEUED


# Modules that declare a model's transitions may assign its status; ``self.status`` in any
# other class is that class's own attribute (an error's HTTP status, a parsed row).
MODEL_MODULES = {
    "bundles/models.py",
    "fulfillment/models.py",
    "messaging/models.py",
    "sponsorship/checkout/models.py",
    "sponsorship/continuity/renewals/models.py",
    "workers/models.py",
}
# Direct assignments that are not to Payment, Message or Remittance.
ALLOWED = {
    ("sponsorship/continuity/renewals/charge.py", "attempt"),  # RenewalAttempt, its _move
    ("workers/enrolment/bulk.py", "self.outcome"),  # a CSV row's outcome, not a model
    ("workers/enrolment/bulk.py", "row.outcome"),
}
NOT_PRODUCTION = {"tests", "migrations", "bench", "sandbox", ".venv", "node_modules"}


def _status_assignments(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "status":
                found.append((node.lineno, ast.unparse(target.value)))
    return found


def _production_modules() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not NOT_PRODUCTION.intersection(path.relative_to(ROOT).parts)
    ]


def test_no_status_is_assigned_outside_the_model_modules():
    direct = [
        f"{name}:{line} {owner}.status = …"
        for path in _production_modules()
        if (name := path.relative_to(ROOT).as_posix()) not in MODEL_MODULES
        for line, owner in _status_assignments(path)
        if owner != "self" and (name, owner) not in ALLOWED
    ]
    assert direct == []


GUARDED_MODELS = {"Payment", "Message", "Remittance"}


def _bulk_status_updates(path: Path) -> list[tuple[int, str]]:
    """``update(Model)….values(status=…)`` for the models whose moves are declared."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "values"
            and any(keyword.arg == "status" for keyword in node.keywords)
        ):
            continue
        for inner in ast.walk(node.func.value):
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id == "update"
                and inner.args
                and isinstance(inner.args[0], ast.Name)
                and inner.args[0].id in GUARDED_MODELS
            ):
                found.append((node.lineno, inner.args[0].id))
    return found


def test_bulk_status_updates_live_next_to_their_model():
    outside = [
        f"{name}:{line} update({model}).values(status=…)"
        for path in _production_modules()
        if (name := path.relative_to(ROOT).as_posix()) not in MODEL_MODULES
        for line, model in _bulk_status_updates(path)
    ]
    assert outside == []


def test_the_status_checks_catch_a_direct_assignment_and_a_bulk_update(tmp_path):
    module = tmp_path / "sneaky.py"
    module.write_text("def pay(payment):\n    payment.status = 'succeeded'\n")
    assert _status_assignments(module) == [(2, "payment")]
    module.write_text("db.session.execute(update(Message).where(x).values(status='sent'))\n")
    assert _bulk_status_updates(module) == [(1, "Message")]
    models = ROOT / "sponsorship/checkout/models.py"
    assert [model for _, model in _bulk_status_updates(models)] == ["Payment"]
