"""Who may open a view. Every view carries exactly one of these decorators; a test walks
``app.url_map`` and fails on any view without one."""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user, login_required

from accounts.models import Role

F = TypeVar("F", bound=Callable[..., object])


def public(view: F) -> F:
    """Anyone, signed in or not."""
    view.access = "public"  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    """Any signed-in user, whatever the role."""
    wrapped = login_required(view)
    wrapped.access = "signed_in"  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def role_required(*roles: Role) -> Callable[[F], F]:
    """Signed in with one of ``roles``; others get 403, anonymous users the sign-in page."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: object, **kwargs: object) -> object:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapper)
        guarded.access = tuple(str(r) for r in roles)  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


sponsor_required = role_required(Role.SPONSOR)
partner_required = role_required(Role.PARTNER)
admin_required = role_required(Role.ADMIN)
worker_required = role_required(Role.WORKER)
