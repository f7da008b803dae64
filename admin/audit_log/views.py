"""Admin: searching the audit trail — admin actions, fulfillment history and consent records
together — by object, actor, action and date (the search is in ``search``). One statement more
for actor names and one for order references, whatever the page holds.
"""

from flask import Blueprint, render_template, request

from accounts.access import admin_required
from admin import filters
from admin.audit import ACTION_LABELS
from admin.audit_log.search import (
    CONSENT_ACTIONS,
    FULFILLMENT_ACTIONS,
    OBJECT_TYPES,
    SOURCE_LABELS,
    action_label,
    read_search,
    search_audit,
)
from admin.orders.queries import emails_of, references_of

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")


@bp.route("/")
@admin_required
def index() -> tuple[str, int]:
    search = read_search(request.args)
    page = None if search.errors else search_audit(search, page=filters.page_number(request.args))
    rows = page.items if page else []
    order_ids = {
        int(row.object_id) for row in rows if row.object_type == "order" and row.object_id.isdigit()
    }
    return render_template(
        "admin/audit.html",
        page=page,
        search=search,
        emails=emails_of({row.actor_id for row in rows}),
        references=references_of(order_ids),
        object_types=OBJECT_TYPES,
        source_labels=SOURCE_LABELS,
        action_choices=[
            *ACTION_LABELS,
            *FULFILLMENT_ACTIONS,
            *CONSENT_ACTIONS,
        ],
        action_label=action_label,
    ), (400 if search.errors else 200)
