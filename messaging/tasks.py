"""Celery tasks of messaging: deliver queued messages, and the sweep that falls back and
retries. Tasks take ids (or, ``deliver_due``, every message due), re-read and lock their rows,
and commit. The older names stay as they were, so messages queued before a deploy are still
delivered."""

from celery import shared_task
from flask import current_app
from sqlalchemy import select

from core.locking import lock_row
from extensions import db, utcnow
from jobs import task, woken
from messaging.contacts import stopped_among
from messaging.delivery import DELIVER_DUE_TASK, deliver, lock_due, sweep
from messaging.models import Channel, Message

DURABLE = {"ignore_result": True, "acks_late": True, "reject_on_worker_lost": True}
MAX_BATCHES_A_RUN = 25  # then a fresh run, so the jobs queued meanwhile get their turn


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
    _deliver_locked(messages)
    db.session.commit()


def _deliver_locked(messages: list[Message]) -> None:
    """Locked messages delivered, their recipients' opt-outs read in one query."""
    stopped = stopped_among(m.recipient for m in messages if m.channel != Channel.EMAIL)
    for message in messages:
        deliver(message, stopped=stopped)


@shared_task(name=DELIVER_DUE_TASK, **DURABLE)
def deliver_due() -> int:
    """Every queued message whose time has come, a batch (MESSAGING_BATCH_SIZE) a transaction:
    woken by ``jobs.wake_after_commit``, one run for the messages of many requests. Returns
    how many it tried."""
    woken(DELIVER_DUE_TASK)  # a message committed from now on wakes another run
    size = int(current_app.config["MESSAGING_BATCH_SIZE"])
    tried = 0
    for _ in range(MAX_BATCHES_A_RUN):
        messages = lock_due(limit=size, now=utcnow())
        _deliver_locked(messages)
        db.session.commit()
        tried += len(messages)
        if len(messages) < size:
            return tried
    task(DELIVER_DUE_TASK).delay()  # more are due: a fresh run, after the tasks queued since
    return tried


@shared_task(name="messaging.sweep", ignore_result=True)
def sweep_messages() -> dict[str, int]:
    report = sweep()
    db.session.commit()
    return report
