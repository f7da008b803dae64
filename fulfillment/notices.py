"""Telling sponsors and admins that parts could not be delivered.

Digests, not one message per part: a partner outage can fail thousands of parts at once. Each
sponsor gets one email per order listing the parts refunded since the last one; the admins get
one email per sweep with the failures to look at. Sent by the sweeper (every minute with beat).
"""

from collections import defaultdict
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from accounts.models import Role, User
from bundles.models import Offer
from core.identity import first_name_and_initial
from core.links import absolute_url
from extensions import db
from fulfillment.models import FulfillmentItem, ItemStatus
from messaging.models import Channel
from messaging.services import queue_template
from messaging.templates_email import LISTED_PARTS
from sponsorship.checkout.models import Order, OrderLine, Refund
from workers.models import Worker

DIGEST_BATCH = 5_000


def _locale(user: User) -> str:
    return user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def send_failure_notices(*, now: datetime) -> int:
    return _sponsor_digests(now) + _admin_digest(now)


def _sponsor_digests(now: datetime) -> int:
    rows = db.session.execute(
        select(
            FulfillmentItem.id, FulfillmentItem.order_id, Worker.full_name, Offer, Refund.amount_idr
        )
        .join(OrderLine, OrderLine.id == FulfillmentItem.order_line_id)
        .join(Worker, Worker.id == OrderLine.worker_id)
        .join(Offer, Offer.id == FulfillmentItem.offer_id)
        .outerjoin(Refund, Refund.order_line_part_id == FulfillmentItem.order_line_part_id)
        .where(
            FulfillmentItem.status == ItemStatus.REFUNDED,
            FulfillmentItem.sponsor_notified_at.is_(None),
        )
        .order_by(FulfillmentItem.order_id, FulfillmentItem.id)
        .limit(DIGEST_BATCH)
    ).all()
    by_order: dict[int, list] = defaultdict(list)
    for row in rows:
        by_order[row[1]].append(row)
    sent = 0
    for order_id, parts in by_order.items():
        order = db.session.get(Order, order_id)
        sponsor = db.session.get(User, order.sponsor_id) if order else None
        if order is not None and sponsor is not None and sponsor.email:
            _sponsor_email(order, sponsor, parts)
            sent += 1
        db.session.execute(
            update(FulfillmentItem)
            .where(FulfillmentItem.id.in_([part[0] for part in parts]))
            .values(sponsor_notified_at=now)
        )
    return sent


def _sponsor_email(order: Order, sponsor: User, parts: list) -> None:
    locale = _locale(sponsor)
    queue_template(
        "fulfillment_refund",
        channel=Channel.EMAIL,
        recipient=sponsor.email or "",
        purpose="fulfillment_refund",
        locale=locale,
        reference=order.reference,
        count=len(parts),
        lines=[
            {
                "worker": first_name_and_initial(full_name),
                "offer": offer.name_in(locale),
                "amount": amount or 0,
            }
            for _id, _order, full_name, offer, amount in parts[:LISTED_PARTS]
        ],
        total=sum(part[4] or 0 for part in parts),
        link=absolute_url("sponsorship.dashboard"),
    )


def _admin_recipients() -> list[User | str]:
    configured = current_app.config.get("ADMIN_ALERT_EMAIL")
    if configured:
        return [configured]
    return list(
        db.session.scalars(
            select(User).where(
                User.role == Role.ADMIN, User.is_disabled.is_(False), User.email.is_not(None)
            )
        )
    )


def _admin_digest(now: datetime) -> int:
    rows = db.session.execute(
        select(FulfillmentItem.id, FulfillmentItem.last_error)
        .where(FulfillmentItem.failed_at.is_not(None), FulfillmentItem.admin_notified_at.is_(None))
        .limit(DIGEST_BATCH)
    ).all()
    if not rows:
        return 0
    reasons: dict[str, int] = defaultdict(int)
    for _id, error in rows:
        reasons[(error or "unknown").split(":", 1)[0]] += 1
    recipients = _admin_recipients()
    link = absolute_url("admin.fulfillment_items", status="failed")
    for recipient in recipients:
        email = recipient if isinstance(recipient, str) else recipient.email or ""
        locale = (
            current_app.config["BABEL_DEFAULT_LOCALE"]
            if isinstance(recipient, str)
            else _locale(recipient)
        )
        queue_template(
            "fulfillment_alert",
            channel=Channel.EMAIL,
            recipient=email,
            purpose="fulfillment_alert",
            locale=locale,
            count=len(rows),
            reasons="\n".join(f"- {code}: {n}" for code, n in sorted(reasons.items())),
            link=link,
        )
    db.session.execute(
        update(FulfillmentItem)
        .where(FulfillmentItem.id.in_([row[0] for row in rows]))
        .values(admin_notified_at=now)
    )
    return len(recipients)
