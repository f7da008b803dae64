"""Errors every domain package shares."""

from typing import Any


class DomainError(Exception):
    """A refusal the person can act on; nothing was changed.

    ``message`` is for people (usually a lazy string, rendered in the reader's language when
    shown). ``field`` names the form field it belongs to and ``code`` is a stable,
    machine-readable reason; both are optional, and a subclass may fix either as a class
    attribute. ``str(error)`` is ``summary`` when given (a fixed text, so logs carry no
    personal data), else the message. Each package's error (``RegistryError``,
    ``SelfServiceError``, ``CheckoutError``, …) subclasses this one and keeps its name, so
    callers catch exactly what they caught before.
    """

    field: str | None = None
    code: str | None = None

    def __init__(
        self,
        message: Any,
        *,
        field: str | None = None,
        code: str | None = None,
        summary: str | None = None,
    ) -> None:
        super().__init__(message if summary is None else summary)
        self.message = message
        if field is not None:
            self.field = field
        if code is not None:
            self.code = code


class IllegalTransition(Exception):
    """A status asked to change in a way its model's transitions do not allow."""

    def __init__(self, kind: str, current: str, wanted: str) -> None:
        super().__init__(f"{kind} cannot go from {current} to {wanted}")
