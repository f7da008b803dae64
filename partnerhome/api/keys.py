"""Partner API keys: created with ``secrets``, shown once, stored as a keyed hash, revocable."""

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from bundles.models import ApiKey, Partner
from core.errors import DomainError
from extensions import db, utcnow
from vault import digest

KEY_PREFIX = "pyg_"
DIGEST_PURPOSE = "api_key"
MAX_ACTIVE_KEYS = 10
# Writing last_used_at on every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiKeyError(DomainError):
    def __init__(self, message: object) -> None:
        super().__init__(message, summary="api key refused")


def create_api_key(partner: Partner, *, name: str, created_by_id: int | None) -> tuple[ApiKey, str]:
    """Return the stored key and the plain key, which is never stored or shown again."""
    if not partner.is_approved:
        raise ApiKeyError(_l("Your partner account must be approved before you create API keys."))
    name = name.strip()
    if not 2 <= len(name) <= 80:
        raise ApiKeyError(_l("Name the key in 2 to 80 characters."))
    if len(active_keys(partner)) >= MAX_ACTIVE_KEYS:
        raise ApiKeyError(_l("You have 10 active keys: revoke one first."))
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        partner_id=partner.id,
        name=name,
        prefix=plain[: len(KEY_PREFIX) + 6],
        key_digest=digest(plain, purpose=DIGEST_PURPOSE),
        created_by_id=created_by_id,
    )
    db.session.add(key)
    db.session.flush()
    return key, plain


def revoke_api_key(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.flush()


def active_keys(partner: Partner) -> list[ApiKey]:
    return list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.partner_id == partner.id, ApiKey.revoked_at.is_(None))
        )
    )


def keys_of(partner: Partner) -> list[ApiKey]:
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.partner_id == partner.id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def find_api_key(plain: str) -> ApiKey | None:
    """The active key matching ``plain``; notes when it was last used (flushes)."""
    if not plain.startswith(KEY_PREFIX) or len(plain) > 200:
        return None
    key = db.session.scalar(
        select(ApiKey).where(
            ApiKey.key_digest == digest(plain, purpose=DIGEST_PURPOSE),
            ApiKey.revoked_at.is_(None),
        )
    )
    if key is not None:
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            key.last_used_at = now
            db.session.flush()
    return key
