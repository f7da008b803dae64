"""The landing page, the language switch and the error pages."""

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from accounts.access import public
from core.rate_limits import too_many_tries_error_page
from pages.services import landing_figures
from security import safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def index() -> str:
    return render_template("main/index.html", stats=landing_figures())


@bp.route("/bahasa", methods=["GET", "POST"])
@public
def set_language() -> Response:
    """Remember the visitor's language and go back. Plain links in the footer call it with GET:
    choosing a language only sets a preference in the visitor's own session (idempotent, no
    data of anyone changes), and a form on every page made a CSRF token, hence a session
    cookie, for every visitor (issue 16). POST (with its CSRF token) still works. The session
    is written only when the language changes."""
    values = request.values
    lang = values.get("lang", "")
    if lang in ("id", "en") and session.get("lang") != lang:
        session["lang"] = lang
    response = redirect(safe_next(values.get("next"), url_for("main.index")))
    response.headers["Cache-Control"] = "no-store"
    return response


ERROR_TEXTS = {
    400: (lambda: _("Something in the request was not right"), lambda: _("Please try again.")),
    403: (
        lambda: _("This page is not for your account"),
        lambda: _("Sign in with an account that may open it."),
    ),
    404: (
        lambda: _("Page not found"),
        lambda: _("The address may be mistyped, or the page has moved."),
    ),
    405: (lambda: _("Not allowed"), lambda: _("This action cannot be done this way.")),
    413: (lambda: _("File too large"), lambda: _("Please upload a smaller file.")),
    429: (
        lambda: _("Too many tries"),
        lambda: _("Please wait a moment before trying again."),
    ),
    500: (
        lambda: _("Something went wrong on our side"),
        lambda: _("Nothing was charged twice. Please try again in a minute."),
    ),
}


def render_error(code: int) -> tuple[str, int]:
    title, description = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    page = render_template("errors/error.html", code=code, title=title(), description=description())
    return page, code


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | Response | HTTPException:
        if error.code is None or error.code < 400 or request.path.startswith("/api/"):
            return error
        if error.code == 429:  # says how long to wait, with Retry-After
            return too_many_tries_error_page()
        return render_error(error.code)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        return render_error(500)
