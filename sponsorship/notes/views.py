"""The sponsor's choice for the workers of an order (their name or "a sponsor", and a short
message), and the thank-yous workers sent back. The order page shows both through the
``worker_notes(order)`` template global and an include; this module owns the form."""

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from accounts.access import sponsor_required
from accounts.models import Role
from extensions import db
from sponsorship.checkout import orders
from sponsorship.checkout.models import Order
from sponsorship.notes.forms import SponsorNoteForm
from sponsorship.notes.models import MESSAGE_MAX, SponsorNote
from sponsorship.notes.sponsor_notes import NoteError, note_for, save_note
from sponsorship.notes.thanks import ReceivedThanks, thanks_count, thanks_for_order

bp = Blueprint("sponsor_note", __name__)


@dataclass(frozen=True)
class WorkerNotes:
    note: SponsorNote | None
    thanks: list[ReceivedThanks]
    thanks_total: int
    form: SponsorNoteForm | None  # only for the order's sponsor


@bp.app_template_global("worker_notes")
def worker_notes(order: Order) -> WorkerNotes | None:
    """For the order page: the note and the thank-yous (the sponsor's own orders, and admins)."""
    if not current_user.is_authenticated or not current_user.has_role(Role.SPONSOR, Role.ADMIN):
        return None
    is_owner = order.sponsor_id == current_user.id
    if not is_owner and current_user.role != Role.ADMIN:
        return None
    note = note_for(order)
    form = None
    if is_owner:
        form = SponsorNoteForm(
            formdata=None,
            data={
                "show_name": bool(note and note.show_name),
                "message": note.message if note else "",
            },
        )
    return WorkerNotes(note, thanks_for_order(order), thanks_count(order), form)


def _own_order(reference: str) -> Order:
    order = orders.order_for(current_user, reference)
    if order is None or order.sponsor_id != current_user.id:
        abort(404)
    return order


@bp.route("/pesanan/<reference>/pesan-pekerja", methods=["GET", "POST"])
@sponsor_required
def edit(reference: str) -> str | Response | tuple[str, int]:
    order = _own_order(reference)
    note = note_for(order)
    form = SponsorNoteForm(
        data=None if note is None else {"show_name": note.show_name, "message": note.message}
    )
    if form.validate_on_submit():
        try:
            save_note(order, show_name=form.show_name.data, message=form.message.data)
        except NoteError as exc:
            db.session.rollback()
            form.message.errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("Saved. The workers of this order see it on their page."), "success")
            return redirect(url_for("checkout.order", reference=order.reference))
    status = 422 if form.errors or form.message.errors else 200
    return render_template(
        "sponsorship/sponsor_note.html", form=form, order=order, max_message=MESSAGE_MAX
    ), status
