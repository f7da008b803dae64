"""Invoice numbers: INV/yyyy/mm/nnnnnn, one sequence per month with no gap and no repeat,
even when many invoices are issued at once (threads, each with its own connection) and
when an issuing transaction rolls back."""

import threading
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from extensions import db
from sponsorship.checkout.models import Order
from sponsorship.invoices.models import Invoice
from sponsorship.invoices.numbering import format_number, next_sequence
from sponsorship.invoices.services import issue_invoice
from tests.sponsorship.invoice_support import company
from tests.sponsorship.xendit_support import xendit_fixture  # noqa: F401

__all__ = ["company"]  # a fixture


@pytest.fixture
def app_config(xendit):
    return xendit.app_config()  # invoice VAs are opened at the sandbox playing Xendit


ORDERS = 10


def test_the_number_names_year_month_and_a_six_digit_sequence():
    assert format_number(date(2026, 12, 3), 123) == "INV/2026/12/000123"
    assert format_number(date(2027, 1, 31), 1) == "INV/2027/01/000001"


def test_each_month_counts_from_one_and_a_rollback_gives_the_number_back(app):
    december, january = date(2026, 12, 3), date(2027, 1, 2)
    assert [next_sequence(december), next_sequence(december)] == [1, 2]
    db.session.commit()
    assert next_sequence(january) == 1
    assert next_sequence(december) == 3
    db.session.rollback()  # that invoice was never written: 3 is free again
    assert next_sequence(december) == 3
    assert next_sequence(january) == 1
    db.session.commit()


def _issue_in_threads(
    app, order_ids: list[int], *, roll_back_every: int = 0
) -> list[BaseException]:
    """Issue the invoice of every order id in its own thread, all starting together; every
    ``roll_back_every``-th thread rolls back once before trying again."""
    start = threading.Barrier(len(order_ids))
    errors: list[BaseException] = []

    def issue(position: int, order_id: int) -> None:
        start.wait()
        rolled_back = False
        for _ in range(30):  # SQLite may answer "busy": a real request would be retried
            with app.app_context():
                try:
                    issue_invoice(db.session.get(Order, order_id))
                    if roll_back_every and position % roll_back_every == 0 and not rolled_back:
                        rolled_back = True
                        db.session.rollback()
                        continue
                    db.session.commit()
                    return
                except OperationalError:
                    db.session.rollback()
                except BaseException as error:
                    db.session.rollback()
                    errors.append(error)
                    return
        errors.append(RuntimeError("gave up"))

    threads = [
        threading.Thread(target=issue, args=(position, order_id))
        for position, order_id in enumerate(order_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.slow
def test_invoices_issued_at_once_get_consecutive_numbers_once_per_order(
    app, company, catalog, workers, ordered
):
    orders = [ordered(workers(1), catalog.sertakan, who=company) for _ in range(ORDERS)]
    order_ids = [order.id for order in orders]
    db.session.expunge_all()
    # Each order asked for twice at the same moment, a third of the threads rolling back once.
    errors = _issue_in_threads(app, order_ids + order_ids, roll_back_every=3)
    assert errors == []
    issued = db.session.scalars(select(Invoice).order_by(Invoice.sequence)).all()
    assert sorted(invoice.order_id for invoice in issued) == sorted(order_ids)  # one each
    assert [invoice.sequence for invoice in issued] == list(range(1, ORDERS + 1))  # no gap
    assert len({invoice.number for invoice in issued}) == ORDERS
    assert {invoice.period for invoice in issued} == {issued[0].period}
