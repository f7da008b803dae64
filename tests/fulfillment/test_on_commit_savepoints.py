"""Jobs wait for the real commit, also around the savepoints the issuers run in: a released
savepoint is not a commit, and a savepoint rolled back drops only what was queued inside it.

On SQLite a savepoint must open inside a transaction that has begun writing (``begin_write``,
as every fulfillment job does first): pysqlite does not begin one for SAVEPOINT, so releasing a
savepoint opened before any write would commit it for good.
"""

from sqlalchemy import select

from core.locking import begin_write
from extensions import db
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message


def queue(body):
    return queue_message(channel=Channel.SMS, recipient="+6281200000001", body=body, purpose="t")


def statuses():
    return dict(db.session.execute(select(Message.body, Message.status)).all())


def test_messages_queued_in_savepoints_go_out_only_with_the_real_commit(app):
    begin_write()
    queue("before")
    with db.session.begin_nested():
        queue("kept")
    try:
        with db.session.begin_nested():
            queue("undone")
            raise RuntimeError("issuer gave up")
    except RuntimeError:
        pass
    assert all(status == MessageStatus.QUEUED for status in statuses().values())
    db.session.commit()

    assert statuses() == {"before": MessageStatus.SENT, "kept": MessageStatus.SENT}


def test_nothing_goes_out_when_the_transaction_rolls_back(app):
    begin_write()
    with db.session.begin_nested():
        queue("inside")
    queue("outside")
    db.session.rollback()
    db.session.commit()
    assert statuses() == {}
