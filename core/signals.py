"""Signals: how a lower package tells a higher one that something happened, without importing it.

Receivers run synchronously, inside the sender's transaction: what they write commits or rolls
back with it. Each higher package connects its receivers in its ``register(app)``.
"""

from blinker import Namespace

_signals = Namespace()

order_paid = _signals.signal(
    "order-paid",
    doc="An order was just marked paid (sender: the Order). Fulfillment creates its items.",
)
