"""The test operator's side of the Xendit stand-in (never faulted, no API key): where
callbacks go, the callbacks sent, paying a request by hand, and making one expire or be paid
late.

``GET /xendit/_pay`` is a page listing the open QRIS codes and VAs with a "Pay" button each:
in ``make run`` it plays the sponsor's bank or wallet app.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, jsonify, redirect, render_template_string, request

from sandbox.xendit import book, callbacks
from sandbox.xendit.api import XenditError, bp, pay


@bp.post("/_callback")
def set_callback() -> dict[str, Any]:
    """Xendit's dashboard setting: the callback URL and the token sent with every callback."""
    body = request.get_json(silent=True) or {}
    url, token = body.get("url"), body.get("token")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise XenditError(400, "API_VALIDATION_ERROR", "url must be http(s)")
    if token is not None and not isinstance(token, str):
        raise XenditError(400, "API_VALIDATION_ERROR", "token must be a string")
    book.save_settings(url, token)
    return book.settings()


@bp.get("/_callbacks")
def list_callbacks() -> Response:
    return jsonify(callbacks=callbacks.sent())


@bp.post("/_pay_late/<request_id>")
def pay_late(request_id: str) -> dict[str, Any]:
    """A transfer to a VA that its bank settles after the VA expired."""
    return book.public(pay(request_id, late=True))


@bp.post("/_expire/<request_id>")
def expire(request_id: str) -> dict[str, Any]:
    """Let the request's time run out now (its next read shows it EXPIRED)."""
    with book.storage().transaction():
        record = book.get(request_id)
        if record is None:
            raise XenditError(404, "DATA_NOT_FOUND", f"payment request {request_id} not found")
        record = {**record, "expires_at": book.stamp(book.now() - timedelta(seconds=1))}
        book.put(record)
    return book.public(book.get(request_id) or record)


PAY_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Xendit sandbox: pay</title>
<body style="font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">
<h1>Xendit sandbox: simulate a payment</h1>
<p>Open QRIS codes and virtual accounts, newest first. "Pay" does what the sponsor's bank or
wallet app would, and Xendit's callback goes to Payung.</p>
<table>{% for r in open %}<tr><td>{{ r.reference_id }}</td><td>{{ r.channel }}</td>
<td>{{ r.number }}</td><td>Rp{{ r.amount }}</td><td><form method="post" action="{{ url_for(
'xendit.pay_by_hand', request_id=r.id) }}"><button>Pay</button></form></td></tr>
{% else %}<tr><td>Nothing is waiting to be paid.</td></tr>{% endfor %}</table></body></html>"""


@bp.get("/_pay")
def pay_page() -> str:
    records = [book.current(r) for r in book.storage().load(book.PR_SCOPE).values()]
    rows = []
    for record in sorted(records, key=lambda r: r["created"], reverse=True):
        method = record["payment_method"]
        if record["status"] != "PENDING" or method["type"] == "EWALLET":
            continue
        va = method.get("virtual_account")
        rows.append(
            {
                "id": record["id"],
                "reference_id": record["reference_id"],
                "channel": va["channel_code"] if va else "QRIS",
                "number": va["channel_properties"]["virtual_account_number"] if va else "",
                "amount": f"{int(record['amount']):,}".replace(",", "."),
            }
        )
    return render_template_string(PAY_PAGE, open=rows)


@bp.post("/_pay/<request_id>")
def pay_by_hand(request_id: str) -> Response:
    pay(request_id)
    return redirect("/xendit/_pay", code=303)


__all__ = ["bp"]
