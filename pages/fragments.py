"""The parts of ``base.html`` that every anonymous visitor sees alike, rendered once.

The header (brand and navigation) of a visitor who is not signed in depends only on the
language, the page's endpoint (for ``aria-current``) and the app (its URLs and settings); the
footer only on the language and the app. Rendering them cost about as much as the whole
reference catalog page (issue 16: two navigation menus, 18 ``url_for``, a dozen gettext calls),
so they are kept per (fragment, language, endpoint, script root) in the app's own dictionary.
Nothing of a user is in them: a signed-in user's navigation (name, sign-out form with its CSRF
token) is rendered every time and never stored. Invalidation: none needed; the inputs are the
key, the templates do not change while the app runs (a new deploy starts new processes).
"""

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from markupsafe import Markup, escape

from i18n import current_locale_name

LIMIT = 1024  # endpoints × languages × fragments stays far below; a bound all the same


def cached_fragment(name: str, render: Callable[[], Any], *, per_endpoint: bool = False) -> Markup:
    """``render()`` once per (name, language, endpoint if ``per_endpoint``, script root)."""
    cache: dict[tuple[str, str, str | None, str], Markup] = current_app.extensions[
        "payung_fragments"
    ]
    key = (
        name,
        current_locale_name(),
        request.endpoint if per_endpoint else None,
        request.script_root,
    )
    found = cache.get(key)
    if found is None:
        rendered = render()  # a Jinja macro: Markup already; anything else is escaped
        found = rendered if isinstance(rendered, Markup) else escape(rendered)
        if len(cache) >= LIMIT:
            cache.clear()
        cache[key] = found
    return found


def register_fragments(app: Flask) -> None:
    app.extensions["payung_fragments"] = {}
    app.add_template_global(cached_fragment)
