"""Links that messages carry, named once: services ask for ``links.renew(worker_id)`` and never
call ``url_for`` themselves (they may run in a job, with no request). Built on SITE_URL by
``core.links.absolute_url``, so they always point at the public site."""

from flask import current_app

from core.links import absolute_url


def renew(worker_id: int) -> str:
    """The sponsor's one-tap renewal of one worker's cover (lapse alerts)."""
    return absolute_url("renewal_links.renew", worker_id=worker_id)


def renewals() -> str:
    """The sponsor's automatic renewals, to change or stop them."""
    return absolute_url("renewals.index")


def order(reference: str) -> str:
    return absolute_url("checkout.order", reference=reference)


def worker_home() -> str:
    """Where a worker sees their cover: ``/saya``."""
    return current_app.config["SITE_URL"].rstrip("/") + "/saya"
