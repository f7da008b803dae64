"""Celery tasks of messaging: deliver queued messages, and the sweep that falls back and
retries. Tasks take ids, re-read (and lock) their rows, and commit. Their names are older than
this package and stay as they were, so messages queued before a deploy are still delivered."""

from celery import shared_task
from sqlalchemy import select

from core.locking import lock_row
from extensions import db
from messaging.contacts import stopped_among
from messaging.delivery import deliver, sweep
from messaging.models import Channel, Message

DURABLE = {"ignore_result": True, "acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="fulfillment.deliver_message", **DURABLE)
def deliver_message(message_id: int) -> None:
    message = lock_row(Message, message_id)
    if message is None:
        return
    deliver(message)
    db.session.commit()


@shared_task(name="sponsorship.deliver_messages", ignore_result=True)
def deliver_messages(message_ids: list[int]) -> None:
    """Deliver a batch of queued messages (welcome texts of a bulk enrolment, lapse alerts)."""
    messages = db.session.scalars(
        select(Message).where(Message.id.in_(message_ids)).order_by(Message.id).with_for_update()
    ).all()
    stopped = stopped_among(m.recipient for m in messages if m.channel != Channel.EMAIL)
    for message in messages:
        deliver(message, stopped=stopped)
    db.session.commit()


@shared_task(name="messaging.sweep", ignore_result=True)
def sweep_messages() -> dict[str, int]:
    report = sweep()
    db.session.commit()
    return report
