"""What the sponsor is told when an automatic renewal does not go through (by email, through
the messages adapter: saved now, delivered after the commit). Each failed try sends one
message: a try is claimed once, so a run going twice never repeats one."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from accounts.models import User
from bundles.models import Bundle
from core.identity import first_name_and_initial
from core.links import absolute_url
from extensions import db
from messaging.models import Channel
from messaging.services import queue_template
from sponsorship.checkout.models import Order
from sponsorship.continuity.renewals.models import RenewalPlan
from workers.models import Worker


@dataclass(frozen=True)
class _Addressee:
    """Who a renewal notice goes to, in which language, and what it is about."""

    email: str
    locale: str
    facts: dict[str, Any]  # bundle, worker (first name and initial), months, period


def _addressee(plan: RenewalPlan, period: date) -> _Addressee | None:
    """The plan's sponsor, if they have an email address, with the facts every notice names."""
    sponsor = db.session.get(User, plan.sponsor_id)
    if sponsor is None or not sponsor.email:
        return None
    worker = db.session.get(Worker, plan.worker_id)
    bundle = db.session.get(Bundle, plan.bundle_id)
    facts = {
        "bundle": bundle.name,
        "worker": first_name_and_initial(worker.full_name),
        "months": plan.months,
        "period": period.strftime("%m/%Y"),
    }
    return _Addressee(
        email=sponsor.email,
        locale=sponsor.locale or current_app.config["BABEL_DEFAULT_LOCALE"],
        facts=facts,
    )


def notify_failure(
    plan: RenewalPlan,
    *,
    period: date,
    order: Order | None,
    reason: str | LazyString | None,
    authenticate: bool = False,
    next_try_on: date | None = None,
) -> None:
    """Tell the sponsor a renewal try failed, with a link to pay on-session (the order's pay
    page) or, when no order could be made, to their renewals page."""
    to = _addressee(plan, period)
    if to is None:
        return
    with force_locale(to.locale):
        why = str(reason or "")  # a lazy reason, written in the sponsor's language
    if order is None:
        template, more = (
            "renewal_unprepared",
            {"reason": why, "link": absolute_url("renewals.index")},
        )
    else:
        pay = absolute_url("checkout.pay", reference=order.reference)
        if authenticate:
            template, more = "renewal_authenticate", {"amount": order.total_idr, "link": pay}
        elif next_try_on is not None:
            template, more = (
                "renewal_declined_retry",
                {
                    "reason": why,
                    "date": next_try_on.strftime("%d/%m/%Y"),
                    "amount": order.total_idr,
                    "link": pay,
                },
            )
        else:
            template, more = (
                "renewal_declined_final",
                {"reason": why, "amount": order.total_idr, "link": pay},
            )
    queue_template(
        template,
        channel=Channel.EMAIL,
        recipient=to.email,
        purpose="renewal_failed",
        locale=to.locale,
        **to.facts,
        **more,
    )


def notify_pay_link(plan: RenewalPlan, *, period: date, order: Order, payment_id: int) -> None:
    """A plan without a saved card is due: the sponsor gets a link to a fresh QRIS code for
    the renewal order (its page also offers bank transfer to a VA and e-wallets)."""
    to = _addressee(plan, period)
    if to is None:
        return
    queue_template(
        "renewal_pay_link",
        channel=Channel.EMAIL,
        recipient=to.email,
        purpose="renewal_pay_link",
        locale=to.locale,
        **to.facts,
        amount=order.total_idr,
        link=absolute_url(
            "checkout.local_payment", reference=order.reference, payment_id=payment_id
        ),
        other=absolute_url("checkout.pay", reference=order.reference),
    )
