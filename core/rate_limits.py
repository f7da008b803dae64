"""Rate limits that count failures, and the "too many tries" answer.

A view marks a request as a failure with ``count_failure()`` (a wrong password, a wrong one-time
code, a bundle code that does not exist). Limits declared with ``deduct_when=failed`` count only
those: typos caught before any lookup and right answers never use up anyone's budget, so honest
people behind one address (a TLS proxy, a mobile carrier's NAT) do not block each other.

When a limit is reached, ``too_many_tries_page`` shows the same form again with what was typed,
says how long to wait (in the visitor's language), and answers 429 with Retry-After.
"""

import math
import time
from datetime import timedelta
from typing import Any

from flask import g, make_response, render_template
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from extensions import limiter
from vault import digest

_FAILED = "rate_limit_failure"


def count_failure() -> None:
    """This request failed (a wrong code or password): limits with ``deduct_when=failed``
    count it."""
    setattr(g, _FAILED, True)


def failed(response: Response) -> bool:
    return bool(g.get(_FAILED))


def phone_key(phone_e164: str) -> str:
    """A per-phone limit key that does not put the number itself into the limit storage."""
    return "phone:" + digest(phone_e164, purpose="rate-limit")[:32]


def wait_seconds() -> int:
    """Seconds until the limit this request hit lets the client try again (at least 1)."""
    breached = [limit for limit in limiter.current_limits if limit.breached]
    if not breached and limiter.current_limit is not None:
        breached = [limiter.current_limit]
    now = time.time()
    resets = [limit.window[0] for limit in breached]  # when the window lets one more through
    return max(1, math.ceil(max(resets, default=now + 60) - now))


def wait_text(seconds: int) -> str:
    """``45 detik``, ``10 menit``, ``1 jam``; beyond a minute rounded up to whole minutes, so
    the wait is never shorter than said."""
    if seconds > 60:
        seconds = math.ceil(seconds / 60) * 60
    return format_timedelta(timedelta(seconds=seconds), threshold=1.0)


def too_many_tries_message(seconds: int) -> str:
    return _("Too many tries. Please wait %(wait)s, then try again.", wait=wait_text(seconds))


def too_many_tries_page(template: str, form: FlaskForm, **context: Any) -> Response:
    """The form page again, with what was typed and a message saying how long to wait."""
    seconds = wait_seconds()
    form.form_errors.append(too_many_tries_message(seconds))
    response = make_response(render_template(template, form=form, **context), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def too_many_tries_error_page() -> Response:
    """The plain error page, for a limited page with no form to show again."""
    seconds = wait_seconds()
    page = render_template(
        "errors/error.html",
        code=429,
        title=_("Too many tries"),
        description=too_many_tries_message(seconds),
    )
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response
