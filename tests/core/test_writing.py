"""New rows of several tables in one statement (``core.writing.insert_together``), and a
request's session outside a transaction that may write only that statement."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from accounts.models import OneTimeCode
from core.writing import OneStatementOnly, insert_together, without_transaction
from extensions import db, utcnow
from messaging.models import Channel, Message, MessageStatus
from tests.conftest import ON_POSTGRES

PHONE = "+6281234567801"


def code(digest: str = "a" * 64) -> OneTimeCode:
    return OneTimeCode(
        phone_e164=PHONE,
        purpose="sign_in",
        code_digest=digest,
        expires_at=utcnow() + timedelta(minutes=5),
    )


def sms(body: str | None = "Kode Anda ••••••") -> Message:
    return Message(channel=Channel.SMS, recipient=PHONE, body=body, purpose="sign_in")


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(conn: Any, cursor: Any, text: str, *_: Any) -> None:
        seen.append(" ".join(text.split()[:2]))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_the_rows_are_saved_with_their_ids_and_defaults(app, statements):
    otp, message = code(), sms()
    insert_together([otp, message])
    assert statements == (["WITH new_0"] if ON_POSTGRES else ["INSERT INTO", "INSERT INTO"])
    assert otp.id and message.id
    assert object_session(otp) is db.session() and object_session(message) is db.session()
    # What the columns defaulted to is on the objects, read without another statement.
    statements.clear()
    assert (otp.attempts, otp.consumed_at, message.status, message.attempts) == (
        0,
        None,
        MessageStatus.QUEUED,
        0,
    )
    assert otp.created_at is not None and message.created_at is not None
    assert statements == []
    db.session.commit()
    stored = db.session.get(Message, message.id)
    assert stored is not None and stored.body == "Kode Anda ••••••"
    assert db.session.get(OneTimeCode, otp.id) is not None


def test_what_runs_before_sees_the_table_without_the_new_rows(app):
    earlier = code("b" * 64)
    db.session.add(earlier)
    db.session.commit()
    now = utcnow()
    fresh = code("c" * 64)
    expire = (
        update(OneTimeCode)
        .where(OneTimeCode.phone_e164 == PHONE, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    insert_together([fresh, sms()], before=expire)
    db.session.commit()
    assert db.session.get(OneTimeCode, earlier.id).consumed_at is not None
    assert db.session.get(OneTimeCode, fresh.id).consumed_at is None


def test_a_row_that_cannot_be_saved_saves_none(app):
    db.session.commit()
    with pytest.raises(IntegrityError):
        insert_together([code(), sms(body=None)])  # a message needs a body
    db.session.rollback()
    assert (count(OneTimeCode), count(Message)) == (0, 0)


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL: a statement outside a transaction")
class TestWithoutTransaction:
    def test_one_statement_is_saved_without_a_transaction_around_it(self, app):
        db.session.commit()
        without_transaction()
        otp = code()
        insert_together([otp, sms()])
        raw = db.session.connection().connection.dbapi_connection
        assert raw.autocommit
        db.session.rollback()  # nothing to undo: the statement committed itself
        assert db.session.get(OneTimeCode, otp.id) is not None

    def test_it_is_saved_whole_or_not_at_all(self, app):
        db.session.commit()
        without_transaction()
        with pytest.raises(IntegrityError):
            insert_together([code(), sms(body=None)])
        db.session.rollback()
        assert (count(OneTimeCode), count(Message)) == (0, 0)

    def test_a_second_write_is_refused(self, app):
        db.session.commit()
        without_transaction()
        insert_together([code()])
        with pytest.raises(OneStatementOnly):
            insert_together([sms()])
        with pytest.raises(OneStatementOnly):
            db.session.execute(update(Message).values(attempts=1))
        db.session.add(sms())
        with pytest.raises(OneStatementOnly):
            db.session.flush()
        db.session.rollback()
        assert (count(OneTimeCode), count(Message)) == (1, 0)

    def test_the_next_transaction_is_an_ordinary_one(self, app):
        db.session.commit()
        without_transaction()
        db.session.scalar(select(func.count()).select_from(Message))
        db.session.commit()
        message = sms()
        db.session.add(message)
        db.session.flush()  # allowed again, in a transaction
        assert not db.session.connection().connection.dbapi_connection.autocommit
        db.session.rollback()
        assert count(Message) == 0

    def test_a_session_already_in_a_transaction_stays_in_it(self, app):
        db.session.add(sms())
        db.session.flush()
        without_transaction()
        insert_together([code()])
        db.session.rollback()
        assert (count(OneTimeCode), count(Message)) == (0, 0)
