"""What the pool-code race tests share: a one-voucher bundle drawing from a pool, a paid order
for it, and a harness that lets several threads, each with its own app context (so its own
database session, as each Celery task has), work through a queue at the same moment."""

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bundles.models import Bundle, BundlePart
from extensions import db
from fulfillment.models import FulfillmentItem
from fulfillment.services import start_fulfillment
from tests.fulfillment.support import add_pool_codes, make_combofit, make_paid_order, make_workers

T = TypeVar("T")


def voucher_order_items(*, slug: str, codes: int, parts: int) -> list[int]:
    """A pool of ``codes`` health-app codes, a bundle of one such voucher, and a paid order of
    it for ``parts`` workers, started; returns its fulfillment items' ids in order."""
    combo = make_combofit(codes=0)
    add_pool_codes(combo.health, codes)
    vouchers = Bundle(
        slug=slug,
        name="Vouchers",
        is_published=True,
        parts=[BundlePart(offer_id=combo.health.id, quantity=1)],
    )
    db.session.add(vouchers)
    db.session.commit()
    start_fulfillment(make_paid_order(vouchers, make_workers(parts)))
    db.session.commit()
    db.session.expunge_all()
    return list(db.session.scalars(select(FulfillmentItem.id).order_by(FulfillmentItem.id)))


def race(app: Flask, jobs: list[T], threads: int, work: Callable[[T], Any]) -> list[T]:
    """Runs ``work(job)`` for every job, ``threads`` threads starting together, each job in a
    fresh app context and committed. A job the database refused as busy is rolled back and
    queued again (the sweeper would rerun it); any other error fails the race. Returns the
    jobs that were busy once."""
    todo: queue.Queue[T] = queue.Queue()
    for job in jobs:
        todo.put(job)
    errors: list[BaseException] = []
    busy: list[T] = []
    start_together = threading.Barrier(threads)

    def worker() -> None:
        start_together.wait()
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            with app.app_context():
                try:
                    work(job)
                    db.session.commit()
                except OperationalError:
                    db.session.rollback()
                    busy.append(job)
                    todo.put(job)
                except BaseException as error:
                    db.session.rollback()
                    errors.append(error)

    running = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    assert errors == []
    return busy
