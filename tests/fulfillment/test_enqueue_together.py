"""Items started in one transaction are enqueued together once it commits (orders paid in one
transaction share chunk jobs), never before the commit, never after a rollback, and items
started in a savepoint that rolled back are dropped alone."""

from core.locking import begin_write
from extensions import db
from fulfillment.enqueueing import enqueue_together


def begin() -> None:
    """A transaction that has begun, as in fulfillment (which has written before it enqueues);
    on SQLite it holds the write lock, so that savepoints work."""
    db.session.connection()
    begin_write()


def test_items_of_one_transaction_go_out_together_after_its_commit(app):
    sent: list[list[int]] = []
    begin()
    enqueue_together([1, 2], sent.append)
    enqueue_together([3], sent.append)
    assert sent == []  # nothing before the commit
    db.session.commit()
    assert sent == [[1, 2, 3]]

    begin()
    enqueue_together([4], sent.append)
    db.session.rollback()
    begin()
    enqueue_together([5], sent.append)
    db.session.commit()
    assert sent == [[1, 2, 3], [5]]  # the rolled-back transaction's items never go out


def test_items_of_a_savepoint_rolled_back_are_dropped_alone(app):
    sent: list[list[int]] = []
    begin()
    enqueue_together([1], sent.append)
    try:
        with db.session.begin_nested():
            enqueue_together([2], sent.append)
            raise RuntimeError("issuer gave up")
    except RuntimeError:
        pass
    with db.session.begin_nested():
        enqueue_together([3], sent.append)
    enqueue_together([4], sent.append)
    db.session.commit()
    assert sorted(sent) == [[1, 4], [3]]
