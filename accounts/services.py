"""Account operations: sign-up, password sign-in, phone one-time codes, ending sessions.

Services flush; the caller commits once.
"""

import hmac
import math
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, ScalarSelect, func, select, update

from accounts.models import OneTimeCode, Role, User, new_session_token
from core.writing import insert_together
from extensions import db, utcnow
from messaging.models import Channel
from messaging.services import deliver_after_commit, prepare_template
from messaging.templates import current_locale
from vault import digest

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the email is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

SIGN_IN = "sign_in"
# An alias: never correlated with a one_time_codes of the query it is put in.
_LATEST_CODE = OneTimeCode.__table__.alias("latest_code")


class AccountError(Exception):
    """A refusal the user can act on; ``str()`` is a translated message."""


class EmailTaken(AccountError):
    pass


class InvalidCredentials(AccountError):
    pass


class InvalidCode(AccountError):
    pass


class WrongCode(InvalidCode):
    """The code was checked and is not the one sent: the only refusal rate limits count."""


class ResendTooSoon(AccountError):
    """The last code sent to the phone still works; a new one may follow in ``wait_seconds``."""

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(
            _(
                "A code was sent to this number moments ago: use that one, or ask for a new "
                "code in %(seconds)s seconds.",
                seconds=wait_seconds,
            )
        )
        self.wait_seconds = wait_seconds


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def register_user(*, email: str, password: str, display_name: str, role: Role) -> User:
    if role == Role.WORKER:
        raise ValueError("workers sign up with a phone number")
    if find_user_by_email(email) is not None:
        raise EmailTaken(_("An account with this email already exists. Sign in instead."))
    user = User(
        email=normalize_email(email),
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=role,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User:
    user = find_user_by_email(email)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise InvalidCredentials(_("Wrong email or password.")) from None
    if user is None or not user.is_active or user.password_hash is None:
        raise InvalidCredentials(_("Wrong email or password."))
    if _hasher.check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of ``user``."""
    user.session_token = new_session_token()


def _code_digest(phone_e164: str, code: str) -> str:
    return digest(code, purpose=f"otp:{phone_e164}")


def resend_wait(phone_e164: str) -> int:
    """Seconds before another code may be sent to the phone: OTP_RESEND_SECONDS after the last
    one, while that one still works (unused, unexpired, not tried too often). Asking for codes
    from many addresses thus never spends the worker's budget, and never floods the phone."""
    return _wait(latest_unused_code(phone_e164), utcnow())


def latest_unused_code(phone_e164: str) -> OneTimeCode | None:
    return db.session.scalar(
        select(OneTimeCode).where(OneTimeCode.id == latest_unused_code_id(phone_e164))
    )


def latest_unused_code_id(phone: str | ColumnElement[str]) -> ScalarSelect[int]:
    """The id of the phone's latest unused code, as a subquery: a caller that reads the phone
    in a statement of its own (a column) reads the code in the same statement, and passes it
    to ``send_sign_in_code``."""
    code = _LATEST_CODE.c
    return (
        select(code.id)
        .where(code.phone_e164 == phone, code.consumed_at.is_(None))
        .order_by(code.created_at.desc(), code.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _wait(latest: OneTimeCode | None, now: datetime) -> int:
    if latest is None or latest.expires_at <= now:
        return 0
    if latest.attempts >= current_app.config["OTP_MAX_ATTEMPTS"]:
        return 0
    ready_at = latest.created_at + timedelta(seconds=current_app.config["OTP_RESEND_SECONDS"])
    return max(0, math.ceil((ready_at - now).total_seconds()))


def request_sign_in_code(phone_e164: str) -> OneTimeCode:
    """Send a fresh 6-digit code by SMS; earlier unused codes for the phone stop working.

    Raises ResendTooSoon while the last code sent is recent and still works.
    """
    return send_sign_in_code(phone_e164, latest=latest_unused_code(phone_e164))


def send_sign_in_code(phone_e164: str, *, latest: OneTimeCode | None) -> OneTimeCode:
    """``request_sign_in_code`` for a caller that read the phone's latest unused code in this
    transaction already (``latest_unused_code_id``; None: there is none).

    Raises ResendTooSoon while that code is recent and still works.
    """
    now = utcnow()
    wait = _wait(latest, now)
    if wait > 0:
        raise ResendTooSoon(wait)
    code = f"{secrets.randbelow(1_000_000):06d}"
    otp = OneTimeCode(
        phone_e164=phone_e164,
        purpose=SIGN_IN,
        code_digest=_code_digest(phone_e164, code),
        expires_at=now + timedelta(seconds=current_app.config["OTP_TTL_SECONDS"]),
    )
    message = prepare_template(
        "sign_in",
        channel=Channel.SMS,
        recipient=phone_e164,
        purpose=SIGN_IN,
        locale=current_locale(),
        secrets=(code,),
        code=code,
        minutes=current_app.config["OTP_TTL_SECONDS"] // 60,
    )
    # The code and its SMS in one statement (core.writing), with the phone's earlier unused
    # codes expired in it: only with a latest code can there be one (most codes sent), and
    # every one goes, as two requests at once may have left two.
    expire = (
        update(OneTimeCode)
        .where(OneTimeCode.phone_e164 == phone_e164, OneTimeCode.consumed_at.is_(None))
        .values(consumed_at=now)
        if latest is not None
        else None
    )
    insert_together([otp, message], before=expire)
    deliver_after_commit(message)
    return otp


def verify_sign_in_code(phone_e164: str, code: str) -> User:
    """Check the latest code for the phone and return its worker account (created on first use).

    Raises InvalidCode for a wrong, expired, used-up or over-tried code.
    """
    otp = db.session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.phone_e164 == phone_e164, OneTimeCode.consumed_at.is_(None))
        .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    now = utcnow()
    if otp is None or otp.expires_at <= now:
        raise InvalidCode(_("This code has expired. Ask for a new one."))
    if otp.attempts >= current_app.config["OTP_MAX_ATTEMPTS"]:
        raise InvalidCode(_("Too many wrong tries. Ask for a new code."))
    otp.attempts += 1
    if not hmac.compare_digest(otp.code_digest, _code_digest(phone_e164, code.strip())):
        raise WrongCode(_("That code is not right. Check the SMS and try again."))
    otp.consumed_at = now
    user = db.session.scalar(select(User).where(User.phone_e164 == phone_e164))
    if user is None:
        user = User(role=Role.WORKER, phone_e164=phone_e164, display_name="", last_sign_in_at=now)
        db.session.add(user)
        db.session.flush()
    elif user.role != Role.WORKER or not user.is_active:
        raise InvalidCode(_("This phone number cannot sign in here."))
    else:
        user.last_sign_in_at = now
    otp.user_id = user.id
    return user


def count_users(role: Role) -> int:
    return db.session.scalar(select(func.count()).select_from(User).where(User.role == role)) or 0
