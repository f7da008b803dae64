"""Celery tasks of the fulfillment package. Tasks take ids, re-read their rows and commit once."""

from celery import shared_task

from extensions import db
from fulfillment.messages import deliver
from fulfillment.models import Message


@shared_task(name="fulfillment.deliver_message", ignore_result=True)
def deliver_message(message_id: int) -> None:
    message = db.session.get(Message, message_id, with_for_update=True)
    if message is None:
        return
    deliver(message)
    db.session.commit()
