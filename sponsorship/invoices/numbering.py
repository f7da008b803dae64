"""Invoice numbers: ``INV/2026/12/000123``, one gap-free sequence per month.

The next number is one ``UPDATE … SET last_number = last_number + 1 … RETURNING`` on the
month's row, inside the transaction that writes the invoice. On PostgreSQL the UPDATE locks
the row until that transaction ends, so concurrent invoices queue for it and each sees the
number the one before committed; on SQLite the transaction holds the database's write lock
(``core.locking.begin_write``). Either way, a transaction that rolls back takes its number
back with it, so no number is skipped and none is given twice (the unique ``period`` and
``sequence`` pair would refuse it).
"""

from datetime import date

from sqlalchemy import update

from core.locking import begin_write
from extensions import db
from sponsorship.checkout.models import insert_or_ignore
from sponsorship.invoices.models import InvoiceSequence

PREFIX = "INV"


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def format_number(day: date, sequence: int) -> str:
    return f"{PREFIX}/{day.year:04d}/{day.month:02d}/{sequence:06d}"


def next_sequence(day: date) -> int:
    """The next number of ``day``'s month, taken in the current transaction."""
    begin_write()
    period = period_of(day)
    insert_or_ignore(InvoiceSequence, {"period": period, "last_number": 0}, "period")
    return db.session.execute(
        update(InvoiceSequence)
        .where(InvoiceSequence.period == period)
        .values(last_number=InvoiceSequence.last_number + 1)
        .returning(InvoiceSequence.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
