"""Code pools: the voucher codes partners upload (``pools``) and the codes held for unpaid
orders (``reservations``)."""
