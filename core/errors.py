"""Errors every domain package shares."""


class IllegalTransition(Exception):
    """A status asked to change in a way its model's transitions do not allow."""

    def __init__(self, kind: str, current: str, wanted: str) -> None:
        super().__init__(f"{kind} cannot go from {current} to {wanted}")
