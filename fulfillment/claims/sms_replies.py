"""Answering a worker's text (SMS or WhatsApp): ``KLAIM <bundle code>`` is answered with the
bundle's essentials (voucher codes, KPJ, covered-until, data status), claiming the bundle when
the sender is its worker; "BERHENTI"/"STOP" and "MULAI"/"START" are answered first
(``messaging.keywords``); anything else gets the short help. Every answer is a catalogue text
(``messaging/templates.py``), queued and sent after the commit.

The sender's number stands in for the one-time code: the answer only ever goes back to the
number the bundle was sent to, so a code typed from another phone reveals nothing.
"""

import re
from contextlib import suppress

from flask import current_app

from extensions import db
from fulfillment.claims import claiming
from fulfillment.claims.codes import InvalidClaimCode
from fulfillment.claims.services import find_claim_code
from messaging.keywords import keyword_reply
from messaging.models import Channel, Message
from messaging.services import queue_template
from workers.models import Worker

_KLAIM = re.compile(r"^\s*KLAIM\b[\s:]*(?P<code>.*)$", re.IGNORECASE | re.DOTALL)
REPLY_PURPOSE = "claim_sms_reply"
REPLY_LOCALE = "id"  # the sender is known only by number: answers are in Indonesian


def reply_to_sms(sender: str, text: str, channel: Channel = Channel.SMS) -> Message:
    """Answer one incoming text from ``sender`` (E.164) on ``channel`` (queued, sent after the
    commit); claims the bundle when the sender is its worker."""
    stopped_or_started = keyword_reply(sender, text)
    if stopped_or_started is not None:
        return stopped_or_started
    match = _KLAIM.match(text or "")
    if match is None:
        return _reply(sender, channel, "klaim_help")
    try:
        claim = find_claim_code(match.group("code"))
    except InvalidClaimCode as exc:
        return _reply(sender, channel, "klaim_refused", reason=exc.code)
    worker = db.session.get(Worker, claim.worker_id) if claim is not None else None
    if claim is None or worker is None or worker.phone_e164 != sender:
        # The same answer for unknown codes and other people's codes.
        return _reply(sender, channel, "klaim_refused", reason="unknown")
    if claim.claimed_at is None:
        # Claimed on the web a moment ago? The owner still gets the essentials.
        with suppress(claiming.AlreadyClaimed):
            claiming.mark_claimed(claim)
        db.session.refresh(claim)
    view = claiming.claimed_bundle(claim.id, worker, locale=REPLY_LOCALE)
    assert view is not None
    return _reply(
        sender,
        channel,
        "klaim_essentials",
        secrets=secrets_in(view),
        bundle=view.bundle_name,
        parts=essential_parts(view),
    )


def reply_to_whatsapp(sender: str, text: str) -> Message:
    """The same flow for a text the worker sent on WhatsApp; the answer goes back there (SMS
    when WhatsApp fails)."""
    return reply_to_sms(sender, text, Channel.WHATSAPP)


def essential_parts(view: claiming.BundleView) -> list[dict[str, object]]:
    """What the ``klaim_essentials`` text says about each part."""
    parts: list[dict[str, object]] = []
    for part in view.parts:
        if not part.is_issued:
            parts.append({"kind": "preparing", "name": part.name})
        elif part.kind == "health_app":
            codes = [str(code) for code in part.details.get("codes") or []]
            parts.append({"kind": "health_app", "name": part.name, "codes": codes})
        elif part.kind == "insurance_dues":
            until = part.details.get("covered_until")
            parts.append(
                {
                    "kind": "insurance_dues",
                    "kpj": part.details.get("kpj") or "-",
                    "programmes": "+".join(part.details.get("programmes") or []),
                    "date": until.strftime("%d-%m-%Y") if until else "-",
                }
            )
        elif part.kind == "data_quota":
            parts.append({"kind": "data_quota", "name": part.name})
    return parts


def secrets_in(view: claiming.BundleView) -> list[str]:
    """Voucher codes and the KPJ: stored only encrypted (``messaging.services``)."""
    found: list[str] = []
    for part in view.parts:
        if part.is_issued:
            found.extend(str(code) for code in part.details.get("codes") or [])
            found.append(str(part.details.get("kpj") or ""))
    return found


def _reply(
    recipient: str,
    channel: Channel,
    template: str,
    *,
    secrets: list[str] | None = None,
    **params: object,
) -> Message:
    return queue_template(
        template,
        channel=channel,
        recipient=recipient,
        purpose=REPLY_PURPOSE,
        locale=REPLY_LOCALE,
        secrets=secrets or (),
        **params,
    )


def inbound_limit() -> str:
    return str(current_app.config.get("RATELIMIT_SMS_INBOUND", "10 per hour;30 per day"))
