"""What the sponsor is told when an automatic renewal does not go through (by email, through
the messages adapter: saved now, delivered after the commit). Each failed try sends one
message: a try is claimed once, so a run going twice never repeats one."""

from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from accounts.models import User
from bundles.models import Bundle
from core.identity import first_name_and_initial
from core.links import absolute_url
from extensions import db
from i18n import rupiah
from messaging.models import Channel
from messaging.services import queue_message
from sponsorship.checkout.models import Order
from sponsorship.continuity.renewals.models import RenewalPlan
from workers.models import Worker


@dataclass(frozen=True)
class _Addressee:
    """Who a renewal notice goes to (a sponsor with an email), in their language, and what
    it is about."""

    sponsor: User
    locale: str
    bundle: Bundle
    worker_name: str  # first name and initial, never the full name


def _addressee(plan: RenewalPlan) -> _Addressee | None:
    sponsor = db.session.get(User, plan.sponsor_id)
    if sponsor is None or not sponsor.email:
        return None
    worker = db.session.get(Worker, plan.worker_id)
    return _Addressee(
        sponsor=sponsor,
        locale=sponsor.locale or current_app.config["BABEL_DEFAULT_LOCALE"],
        bundle=db.session.get(Bundle, plan.bundle_id),
        worker_name=first_name_and_initial(worker.full_name),
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
    to = _addressee(plan)
    if to is None:
        return
    sponsor, bundle, name = to.sponsor, to.bundle, to.worker_name
    with force_locale(to.locale):
        what = _(
            "%(bundle)s for %(worker)s, %(months)s month(s) from %(period)s",
            bundle=bundle.name,
            worker=name,
            months=plan.months,
            period=period.strftime("%m/%Y"),
        )
        subject = _("Automatic renewal for %(worker)s did not go through", worker=name)
        if order is None:
            body = _(
                "We could not prepare the automatic renewal of %(what)s: %(reason)s. Please "
                "cover the worker yourself: %(link)s",
                what=what,
                reason=str(reason or ""),
                link=absolute_url("renewals.index"),
            )
        elif authenticate:
            body = _(
                "Your bank wants you to confirm the payment of %(amount)s for %(what)s. Please "
                "pay it here: %(link)s",
                amount=rupiah(order.total_idr),
                what=what,
                link=absolute_url("checkout.pay", reference=order.reference),
            )
        elif next_try_on is not None:
            body = _(
                "The card saved for %(what)s was declined (%(reason)s). We will try again on "
                "%(date)s. You can also pay %(amount)s now: %(link)s",
                what=what,
                reason=str(reason or ""),
                date=next_try_on.strftime("%d/%m/%Y"),
                amount=rupiah(order.total_idr),
                link=absolute_url("checkout.pay", reference=order.reference),
            )
        else:
            body = _(
                "The card saved for %(what)s was declined again (%(reason)s) and we stopped "
                "trying. To keep the worker covered, pay %(amount)s here: %(link)s",
                what=what,
                reason=str(reason or ""),
                amount=rupiah(order.total_idr),
                link=absolute_url("checkout.pay", reference=order.reference),
            )
    queue_message(
        channel=Channel.EMAIL,
        recipient=sponsor.email,
        subject=subject,
        body=body,
        purpose="renewal_failed",
    )


def notify_pay_link(plan: RenewalPlan, *, period: date, order: Order, payment_id: int) -> None:
    """A plan without a saved card is due: the sponsor gets a link to a fresh QRIS code for
    the renewal order (its page also offers bank transfer to a VA and e-wallets)."""
    to = _addressee(plan)
    if to is None:
        return
    sponsor, bundle, name = to.sponsor, to.bundle, to.worker_name
    with force_locale(to.locale):
        subject = _("Time to renew the cover of %(worker)s", worker=name)
        body = _(
            "The cover of %(worker)s (%(bundle)s) ends soon. To renew it for %(months)s "
            "month(s) from %(period)s, pay %(amount)s by QRIS here: %(link)s — or by bank "
            "transfer (virtual account) or e-wallet: %(other)s",
            worker=name,
            bundle=bundle.name,
            months=plan.months,
            period=period.strftime("%m/%Y"),
            amount=rupiah(order.total_idr),
            link=absolute_url(
                "checkout.local_payment", reference=order.reference, payment_id=payment_id
            ),
            other=absolute_url("checkout.pay", reference=order.reference),
        )
    queue_message(
        channel=Channel.EMAIL,
        recipient=sponsor.email,
        subject=subject,
        body=body,
        purpose="renewal_pay_link",
    )
