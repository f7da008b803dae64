"""Personal data at rest: field encryption and keyed hashes for lookups.

A NIK or a code is stored twice: encrypted (readable only with FIELD_KEY) and as an HMAC
digest made with LOOKUP_KEY, so equality lookups and unique constraints work without ever
storing the plain value.
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class VaultError(Exception):
    pass


def _fernet() -> Fernet:
    secret = current_app.config["FIELD_KEY"].encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise VaultError("cannot decrypt: wrong FIELD_KEY or damaged value") from exc


def lookup_key() -> bytes:
    return current_app.config["LOOKUP_KEY"].encode()


def digest(value: str, *, purpose: str) -> str:
    """Keyed hash for lookups; ``purpose`` keeps digests of different kinds apart."""
    message = f"{purpose}:{value}".encode()
    return hmac.new(lookup_key(), message, hashlib.sha256).hexdigest()
