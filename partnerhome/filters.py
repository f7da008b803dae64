"""The partner console's template filters, registered by ``partnerhome.wiring``."""

from flask import Flask

from vault import decrypt


def code_hint(code_encrypted: str) -> str:
    """The last 4 characters of a pool code, enough to match it in the partner's records
    (the page and the API show no more of it)."""
    return decrypt(code_encrypted)[-4:]


def register(app: Flask) -> None:
    app.add_template_filter(code_hint, "code_hint")
