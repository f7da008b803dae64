"""Admin: the log of outbound messages (SMS, WhatsApp, email) with their delivery status
(queued → sent → delivered / failed, the provider's reason, the fallback channel, the next try).

Phone numbers are masked and every code in a body is hidden (``admin.masking``): the log shows
that a message went out and what it said, never a secret it carried. A recipient can still be
searched for by typing the whole number or address.
"""

from flask import Blueprint, render_template, request

from accounts.access import admin_required
from admin import filters
from admin.messages_log.search import (
    CHANNEL_LABELS,
    CHANNELS,
    STATUSES,
    read_search,
    search_messages,
    shown,
)

bp = Blueprint("admin_messages", __name__, url_prefix="/admin/pesan")


@bp.route("/")
@admin_required
def index() -> tuple[str, int]:
    search = read_search(request.args)
    page = (
        None if search.errors else search_messages(search, page=filters.page_number(request.args))
    )
    return render_template(
        "admin/messages.html",
        page=page,
        rows=shown(page.items) if page else [],
        search=search,
        channels=CHANNELS,
        statuses=STATUSES,
        channel_labels=CHANNEL_LABELS,
    ), (400 if search.errors else 200)
