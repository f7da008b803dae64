"""The sponsor's cart: workers × bundle × months, waiting to be checked, priced and ordered.

A sponsor fills it from one worker's card, a directory selection (checkboxes or "cover N
matching workers") or "my workers". Filling it with thousands of workers is a few bulk
statements, and every page of it costs a fixed number of statements.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import joinedload

from accounts.models import SponsorKind, User
from accounts.organisations import sponsor_kind
from bundles.catalog import for_sale_condition
from bundles.dues.services import PAYABLE_MONTHS
from bundles.models import Bundle, BundlePart, Offer
from core.errors import DomainError
from extensions import db, utcnow
from i18n import number
from sponsorship.checkout.models import Cart, CartLine, PayerKind, insert_or_ignore
from workers.enrolment.invitations import invited_worker_ids
from workers.models import Worker, WorkerSelection, WorkerSelectionItem

DEFAULT_MAX_LINES = 10_000
CHUNK = 2_000


class CartError(DomainError):
    """A cart change the sponsor must correct; nothing was changed."""


@dataclass(frozen=True, slots=True)
class CartGroup:
    """Lines of the cart that share a bundle and a number of months."""

    bundle_id: int
    bundle_name: str
    months: int
    worker_count: int


def max_lines() -> int:
    return int(current_app.config.get("CHECKOUT_MAX_LINES", DEFAULT_MAX_LINES))


def cart_for(sponsor: User) -> Cart:
    """The sponsor's cart, made on first use. Two first uses at once make one cart."""
    cart = db.session.scalar(select(Cart).where(Cart.sponsor_id == sponsor.id))
    if cart is not None:
        return cart
    insert_or_ignore(
        Cart,
        {"sponsor_id": sponsor.id, "payer_kind": payer_kind_for(sponsor), "updated_at": utcnow()},
        "sponsor_id",
    )
    return db.session.scalars(select(Cart).where(Cart.sponsor_id == sponsor.id)).one()


def existing_cart(sponsor: User) -> Cart | None:
    return db.session.scalar(select(Cart).where(Cart.sponsor_id == sponsor.id))


def bundle_for_cart(bundle_id: int) -> Bundle | None:
    """A bundle that is for sale now, or None."""
    return db.session.scalar(select(Bundle).where(Bundle.id == bundle_id, for_sale_condition()))


def coverable_worker_ids(sponsor: User, worker_ids: Sequence[int]) -> set[int]:
    """Which workers this sponsor may cover: listed ones, and ones who accepted the sponsor's
    invitation; both agreed to share their data with BPJS Ketenagakerjaan."""
    found: set[int] = set()
    for start in range(0, len(worker_ids), CHUNK):
        part = list(worker_ids[start : start + CHUNK])
        rows = db.session.execute(
            select(Worker.id, Worker.is_listed).where(
                Worker.id.in_(part), Worker.insurer_consent_at.is_not(None)
            )
        ).all()
        found.update(worker_id for worker_id, is_listed in rows if is_listed)
        found.update(invited_worker_ids(sponsor, [wid for wid, listed in rows if not listed]))
    return found


def selection_worker_ids(selection: WorkerSelection) -> list[int]:
    return list(
        db.session.scalars(
            select(WorkerSelectionItem.worker_id)
            .where(WorkerSelectionItem.selection_id == selection.id)
            .order_by(WorkerSelectionItem.position)
        )
    )


@dataclass(frozen=True, slots=True)
class Added:
    added: int
    skipped: int  # workers who can no longer be covered (left the directory)
    replaced: int = 0  # workers whose earlier bundle of the same kind this one replaced


def add_to_cart(sponsor: User, worker_ids: Sequence[int], *, bundle_id: int, months: int) -> Added:
    """Put ``worker_ids`` in the sponsor's cart with this bundle for ``months`` months; a
    worker already there with the same bundle takes the new number of months, and one there
    with another bundle that buys the same kind of thing (dues, a health app, data) gets this
    bundle instead: choosing ComboFit after Sertakan switches, it never buys both. Workers
    who can no longer be covered are skipped and counted.

    Raises CartError for months that cannot be paid, a bundle not for sale, no workers
    (left), or a cart that would grow too large.
    """
    wanted = list(dict.fromkeys(worker_ids))
    if isinstance(months, bool) or months not in PAYABLE_MONTHS:
        raise CartError(_l("Dues can be paid for 1, 3, 6 or 12 months."))
    if bundle_for_cart(bundle_id) is None:
        raise CartError(_l("This bundle is not for sale at the moment."))
    coverable = coverable_worker_ids(sponsor, wanted)
    skipped = len(wanted) - len(coverable)
    wanted = [worker_id for worker_id in wanted if worker_id in coverable]
    if not wanted:
        raise CartError(_l("None of these workers can be covered any more."))
    cart = cart_for(sponsor)
    already = _already_in_cart(cart, wanted, bundle_id)
    switched = _overlapping_lines(cart, wanted, bundle_id)
    total = line_count(cart) + len(wanted) - len(already) - len(switched)
    if total > max_lines():
        raise CartError(
            _l(
                "A cart holds at most %(limit)s workers. Pay for these first, then add more.",
                limit=number(max_lines()),
            )
        )
    if switched:
        remove_lines(cart, list(switched))
    if already:
        for start in range(0, len(already), CHUNK):
            db.session.execute(
                update(CartLine)
                .where(
                    CartLine.cart_id == cart.id,
                    CartLine.bundle_id == bundle_id,
                    CartLine.worker_id.in_(already[start : start + CHUNK]),
                )
                .values(months=months, dropped_offer_ids=[])
            )
    taken = set(already)
    now = utcnow()
    rows = [
        {
            "cart_id": cart.id,
            "worker_id": worker_id,
            "bundle_id": bundle_id,
            "months": months,
            "dropped_offer_ids": [],
            "created_at": now,
        }
        for worker_id in wanted
        if worker_id not in taken
    ]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(CartLine.__table__), rows[start : start + CHUNK])
    cart.updated_at = now
    db.session.flush()
    return Added(added=len(wanted), skipped=skipped, replaced=len(set(switched.values())))


def add_selection_to_cart(
    sponsor: User, selection_id: int, *, bundle_id: int, months: int
) -> Added:
    """Put a directory selection of this sponsor in the cart (see ``add_to_cart``).
    Raises CartError for a selection that is not the sponsor's."""
    selection = db.session.get(WorkerSelection, selection_id)
    if selection is None or selection.sponsor_id != sponsor.id:
        raise CartError(_l("This selection was not found. Please choose workers again."))
    return add_to_cart(sponsor, selection_worker_ids(selection), bundle_id=bundle_id, months=months)


def _already_in_cart(cart: Cart, worker_ids: list[int], bundle_id: int) -> list[int]:
    found: list[int] = []
    for start in range(0, len(worker_ids), CHUNK):
        found.extend(
            db.session.scalars(
                select(CartLine.worker_id).where(
                    CartLine.cart_id == cart.id,
                    CartLine.bundle_id == bundle_id,
                    CartLine.worker_id.in_(worker_ids[start : start + CHUNK]),
                )
            )
        )
    return found


def _overlapping_lines(cart: Cart, worker_ids: list[int], bundle_id: int) -> dict[int, int]:
    """Lines (id → worker) of these workers with another bundle sharing a kind of offer with
    ``bundle_id``: two of them for one worker would buy the same cover twice."""
    lines: list[tuple[int, int, int]] = []
    for start in range(0, len(worker_ids), CHUNK):
        lines.extend(
            db.session.execute(
                select(CartLine.id, CartLine.worker_id, CartLine.bundle_id).where(
                    CartLine.cart_id == cart.id,
                    CartLine.bundle_id != bundle_id,
                    CartLine.worker_id.in_(worker_ids[start : start + CHUNK]),
                )
            ).all()
        )
    if not lines:
        return {}
    kinds = _bundle_offer_kinds({bundle_id} | {line[2] for line in lines})
    wanted = kinds.get(bundle_id, set())
    return {
        line_id: worker_id
        for line_id, worker_id, other in lines
        if kinds.get(other, set()) & wanted
    }


def _bundle_offer_kinds(bundle_ids: set[int]) -> dict[int, set[str]]:
    kinds: dict[int, set[str]] = {}
    rows = db.session.execute(
        select(BundlePart.bundle_id, Offer.kind)
        .join(Offer, Offer.id == BundlePart.offer_id)
        .where(BundlePart.bundle_id.in_(bundle_ids))
    )
    for bundle_id, kind in rows:
        kinds.setdefault(bundle_id, set()).add(str(kind))
    return kinds


def line_count(cart: Cart) -> int:
    return db.session.scalar(
        select(func.count()).select_from(CartLine).where(CartLine.cart_id == cart.id)
    )


def remove_lines(cart: Cart, line_ids: Sequence[int]) -> int:
    """Take lines out of the cart; ids of other carts are ignored. Returns how many went."""
    removed = 0
    ids = list(line_ids)
    for start in range(0, len(ids), CHUNK):
        result = db.session.execute(
            delete(CartLine).where(
                CartLine.cart_id == cart.id, CartLine.id.in_(ids[start : start + CHUNK])
            )
        )
        removed += result.rowcount
    db.session.flush()
    return removed


def empty_cart(cart: Cart) -> int:
    result = db.session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    db.session.flush()
    return result.rowcount


def payer_kind_for(sponsor: User, chosen: PayerKind | str | None = None) -> PayerKind:
    """Who pays the dues of the sponsor's cart: what the sponsor chose (at first, what the
    account is: a person, a company or a local government), except that a local government
    always pays as one, as its dues come from a budget and get no PP 50/2025 discount."""
    kind = sponsor_kind(sponsor)
    if kind == SponsorKind.GOVERNMENT or chosen is None:
        return PayerKind(str(kind))
    return PayerKind(chosen)


def set_payer_kind(cart: Cart, payer_kind: PayerKind) -> None:
    cart.payer_kind = PayerKind(payer_kind)
    db.session.flush()


def drop_part(cart: Cart, line_ids: Sequence[int], offer_id: int) -> int:
    """Leave offer ``offer_id`` out of these lines (the sponsor's answer to a part that does
    not suit the worker). Lines left without any part are removed instead."""
    lines = _lines(cart, line_ids)
    bundles = _bundle_offer_ids({line.bundle_id for line in lines})
    emptied = []
    for line in lines:
        dropped = sorted({*line.dropped_offer_ids, offer_id})
        if set(bundles.get(line.bundle_id, ())) <= set(dropped):
            emptied.append(line.id)
        else:
            line.dropped_offer_ids = dropped
    if emptied:
        remove_lines(cart, emptied)
    db.session.flush()
    return len(lines)


def replace_bundle(cart: Cart, line_ids: Sequence[int], *, bundle_id: int) -> int:
    """Give these lines another bundle (same months). A worker who already has that bundle in
    the cart keeps that line and loses this one."""
    if bundle_for_cart(bundle_id) is None:
        raise CartError(_l("This bundle is not for sale at the moment."))
    lines = _lines(cart, line_ids)
    taken = set(_already_in_cart(cart, [line.worker_id for line in lines], bundle_id))
    duplicates = [line.id for line in lines if line.worker_id in taken]
    for line in lines:
        if line.worker_id not in taken:
            line.bundle_id = bundle_id
            line.dropped_offer_ids = []
    if duplicates:
        remove_lines(cart, duplicates)
    db.session.flush()
    return len(lines)


def _lines(cart: Cart, line_ids: Sequence[int]) -> list[CartLine]:
    ids = list(line_ids)
    lines: list[CartLine] = []
    for start in range(0, len(ids), CHUNK):
        lines.extend(
            db.session.scalars(
                select(CartLine).where(
                    CartLine.cart_id == cart.id, CartLine.id.in_(ids[start : start + CHUNK])
                )
            )
        )
    return lines


def _bundle_offer_ids(bundle_ids: set[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    if not bundle_ids:
        return result
    rows = db.session.execute(
        select(BundlePart.bundle_id, BundlePart.offer_id).where(
            BundlePart.bundle_id.in_(bundle_ids)
        )
    )
    for bundle_id, offer_id in rows:
        result.setdefault(bundle_id, []).append(offer_id)
    return result


def cart_groups(cart: Cart) -> list[CartGroup]:
    """The cart in a few rows: how many workers get which bundle for how many months."""
    rows = db.session.execute(
        select(CartLine.bundle_id, Bundle.name, CartLine.months, func.count())
        .join(Bundle, Bundle.id == CartLine.bundle_id)
        .where(CartLine.cart_id == cart.id)
        .group_by(CartLine.bundle_id, Bundle.name, CartLine.months)
        .order_by(Bundle.name, CartLine.months)
    )
    return [CartGroup(*row) for row in rows]


def cart_page(cart: Cart, *, page: int, per_page: int = 50) -> Pagination:
    """One page of cart lines with their worker and bundle: two statements."""
    return db.paginate(
        select(CartLine)
        .options(joinedload(CartLine.worker), joinedload(CartLine.bundle))
        .where(CartLine.cart_id == cart.id)
        .order_by(CartLine.id),
        page=max(page, 1),
        per_page=per_page,
        error_out=False,
    )
