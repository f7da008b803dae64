"""Fulfillment's notion of "now", which tests may move forward instead of sleeping.

Retries, polls and the sweeper's deadlines all read ``now()``; ``advance`` shifts it for the
whole process (tests run a day of backoff in milliseconds), ``reset`` puts it back.
"""

from datetime import datetime, timedelta

from extensions import utcnow

_offset = timedelta(0)


def now() -> datetime:
    return utcnow() + _offset


def advance(seconds: float) -> None:
    global _offset
    _offset += timedelta(seconds=seconds)


def reset() -> None:
    global _offset
    _offset = timedelta(0)
