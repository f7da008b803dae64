"""What a signed-in worker sees of a claimed bundle, and the membership card's QR code."""

import segno
from markupsafe import Markup
from sqlalchemy import select

from accounts.models import User
from extensions import db
from fulfillment.claims import claiming
from workers.models import Worker


def claimed_bundle_of(user: User, claim_id: int, locale: str) -> claiming.BundleView | None:
    """The bundle of claim ``claim_id`` if it is the signed-in worker's, else None."""
    worker = db.session.scalar(select(Worker).where(Worker.user_id == user.id))
    if worker is None:
        return None
    return claiming.claimed_bundle(claim_id, worker, locale=locale)


def kpj_qr_svg(kpj: str | None) -> Markup | None:
    """The KPJ as a QR code in SVG markup: presentation attributes only, no style attribute,
    so it passes the CSP and prints without any script."""
    if not kpj:
        return None
    svg = segno.make(f"KPJ:{kpj}", error="m").svg_inline(
        scale=4, border=2, svgclass="qr", omitsize=True
    )
    return Markup(svg)  # noqa: S704 (segno's markup; the KPJ is in the modules)
