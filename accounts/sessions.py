"""Who a signed-in session belongs to. Flask-Login stores ``"<user id>:<session token>"``;
the token changes when the user signs out everywhere (``services.end_sessions``), so an old
cookie names nobody."""

from accounts.models import User
from extensions import db


def user_for_session(user_id: str) -> User | None:
    """The user a session's stored id names, or None if it is malformed or outdated."""
    raw_id, _sep, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or user.session_token != token:
        return None
    return user
