"""The service behind the one-tap renewal link of every lapse alert
(``sponsorship.continuity.renewals.link_views``): put the worker's last bundle and months back
into the sponsor's cart through checkout's "cover again" (``restore_cart``)."""

from dataclasses import dataclass

from sqlalchemy import select

from accounts.models import User
from extensions import db
from sponsorship.checkout.models import Cart, CartLine, Order
from sponsorship.checkout.services import restore_cart
from sponsorship.continuity.ledger import last_funded_line
from workers.models import Worker


@dataclass(frozen=True)
class Renewed:
    worker: Worker
    in_cart: bool  # False when the worker can no longer be covered


def renew_into_cart(sponsor: User, worker_id: int) -> Renewed | None:
    """None when this sponsor never paid for this worker (the caller answers 404, so the
    worker's sponsors are not disclosed). Flushes; the caller commits."""
    line = last_funded_line(sponsor.id, worker_id)
    if line is None:
        return None
    order = db.session.get(Order, line.order_id)
    worker = db.session.get(Worker, worker_id)
    if order is None or worker is None:
        return None
    restore_cart(order, sponsor, line_ids=[line.id])
    in_cart = db.session.scalar(
        select(CartLine.id)
        .join(Cart, Cart.id == CartLine.cart_id)
        .where(Cart.sponsor_id == sponsor.id, CartLine.worker_id == worker_id)
        .limit(1)
    )
    return Renewed(worker=worker, in_cart=in_cart is not None)
